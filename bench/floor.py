"""What the storage engines themselves allow for the rows sagesync writes: copies the four job
tables of a database that `sagesync load` filled into empty ones, without sagesync in the way.

    python3 bench/floor.py SOURCE.db sqlite DEST.db MODE   # MODE: wal (as sagesync) or off
    PYTHON_WITH_PSYCOPG bench/floor.py SOURCE.db postgres URL SCHEMA [unlogged]

SQLite: INSERT ... SELECT from the attached source in key order (appends, the cheapest case).
MODE wal is sagesync's own set-up (WAL, synchronous NORMAL); off turns the journal and syncing
off altogether, which no loader could do safely: it is the ceiling. Postgres: COPY of the rows
as CSV into the schema `sagesync migrate` made, in one transaction, with fsync on.
"""
import csv
import io
import sqlite3
import sys
import time

TABLES = [
    "sagemaker_training_job",
    "sagemaker_training_job_kv",
    "sagemaker_training_job_metric",
    "sagemaker_training_job_status_transition",
]


def jobs_in(src):
    return sqlite3.connect(src).execute("SELECT count(*) FROM sagemaker_training_job").fetchone()[0]


def sqlite_floor(src, dest, mode):
    c = sqlite3.connect(dest, isolation_level=None)
    s = sqlite3.connect(src)
    for (sql,) in s.execute(
        "SELECT sql FROM sqlite_master WHERE type IN ('table', 'index') AND sql IS NOT NULL "
        "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY type DESC"
    ):
        c.execute(sql)
    s.close()
    if mode == "off":
        c.execute("PRAGMA journal_mode = OFF")
        c.execute("PRAGMA synchronous = OFF")
        c.execute("PRAGMA cache_size = -1000000")
    else:
        c.execute("PRAGMA journal_mode = WAL")
        c.execute("PRAGMA synchronous = NORMAL")
        c.execute("PRAGMA cache_size = -16384")
    c.execute("ATTACH ? AS src", (src,))
    start = time.time()
    c.execute("BEGIN")
    for t in TABLES:
        c.execute(f"INSERT INTO main.{t} SELECT * FROM src.{t}")
    c.execute("COMMIT")
    if mode != "off":
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.time() - start


def postgres_floor(src, url, schema, unlogged):
    import psycopg

    s = sqlite3.connect(src)
    data = {}
    for t in TABLES:
        cols = [r[1] for r in s.execute(f"PRAGMA table_info({t})")]
        buf = io.StringIO()
        w = csv.writer(buf)
        for row in s.execute(f"SELECT * FROM {t}"):
            w.writerow(["\\N" if v is None else v for v in row])
        data[t] = (cols, buf.getvalue())
    with psycopg.connect(url) as c:
        c.execute(f'SET search_path TO "{schema}"')
        if unlogged:
            for t in TABLES:
                c.execute(f"ALTER TABLE {t} SET UNLOGGED")
            c.commit()
        start = time.time()
        with c.transaction():
            for t in TABLES:
                cols, text = data[t]
                sql = f"COPY {t} ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
                with c.cursor().copy(sql) as cp:
                    for i in range(0, len(text), 1 << 20):
                        cp.write(text[i : i + (1 << 20)])
        return time.time() - start


if __name__ == "__main__":
    src, engine = sys.argv[1], sys.argv[2]
    n = jobs_in(src)
    if engine == "sqlite":
        t = sqlite_floor(src, sys.argv[3], sys.argv[4])
        label = f"SQLite, journal {sys.argv[4]}"
    else:
        unlogged = len(sys.argv) > 5 and sys.argv[5] == "unlogged"
        t = postgres_floor(src, sys.argv[3], sys.argv[4], unlogged)
        label = "Postgres COPY" + (", unlogged tables" if unlogged else "")
    print(f"floor, {label}: N={n}  {t:.1f}s  {n / t:,.0f} jobs/s")
