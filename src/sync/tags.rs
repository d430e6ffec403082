//! Where a sync takes tags from. ListTags costs one call per job; Search returns up to 100 jobs
//! with their tags per call. Walked newest first, Search pages line up with the listing's pages,
//! so a listing page whose jobs need tags costs about one Search call instead of a ListTags call
//! per job. Page by page, whichever costs fewer calls is used. Jobs that Search does not return
//! (its index lags behind new jobs) get their tags from ListTags.

use std::collections::HashMap;

use serde_json::Value;

use crate::model::scope::ScopeId;
use crate::model::time::Timestamp;
use crate::source::Api;

#[derive(Default)]
pub(super) struct SearchTags {
    token: Option<String>,
    pages: u64,
    /// No page left, or Search failed and the rest of the scope uses ListTags.
    done: bool,
    /// The oldest creation time Search has returned: the tags of every newer job are known.
    frontier: Option<Timestamp>,
    found: HashMap<String, (Option<Timestamp>, Value)>,
}

impl SearchTags {
    /// Tags from ListTags only: Search failed or is denied.
    pub(super) fn off() -> Self {
        SearchTags {
            done: true,
            ..Default::default()
        }
    }

    /// The tags that Search gives, when it is the cheaper way, for the jobs (ARN, creation time)
    /// of listing page `page` (from 0) that need them. Jobs left out need ListTags.
    pub(super) async fn for_page(
        &mut self,
        api: &Api,
        scope: &ScopeId,
        page: u64,
        wanted: &[(&str, Option<Timestamp>)],
    ) -> HashMap<String, Value> {
        let Some(oldest) = wanted.iter().filter_map(|(_, c)| *c).min() else {
            return HashMap::new();
        };
        if !self.covers(oldest) {
            // Reaching this page costs the Search pages not read yet.
            let cost = (page + 1).saturating_sub(self.pages).max(1);
            if cost < wanted.len() as u64 {
                // One page more than that at most: jobs created since the listing shift pages.
                for _ in 0..=cost {
                    if self.covers(oldest) {
                        break;
                    }
                    self.next_page(api, scope).await;
                }
            }
        }
        let tags = wanted
            .iter()
            .filter_map(|(arn, _)| Some((arn.to_string(), self.found.get(*arn)?.1.clone())))
            .collect();
        // Later listing pages hold older jobs: the newer ones are not needed again.
        self.found
            .retain(|_, (c, _)| c.is_some_and(|c| c <= oldest));
        tags
    }

    fn covers(&self, oldest: Timestamp) -> bool {
        self.done || self.frontier.is_some_and(|f| f <= oldest)
    }

    async fn next_page(&mut self, api: &Api, scope: &ScopeId) {
        let (items, token) = match api.search_page(self.token.take(), None).await {
            Ok(page) => page,
            Err(e) => {
                // Search may be denied by a policy that allows ListTags: carry on without it.
                tracing::warn!("{scope}: {e}; tags come from ListTags for the rest of this scope");
                self.done = true;
                return;
            }
        };
        self.pages += 1;
        self.done = token.is_none();
        self.token = token;
        for (arn, created, tags) in items.into_iter().filter_map(tagged) {
            if let Some(c) = created
                && self.frontier.is_none_or(|f| c < f)
            {
                self.frontier = Some(c);
            }
            self.found.insert(arn, (created, tags));
        }
    }
}

/// The ARN, creation time and tags (the {Key, Value} list ListTags gives) of a Search result item.
fn tagged(mut item: Value) -> Option<(String, Option<Timestamp>, Value)> {
    let job = item.get_mut("TrainingJob")?;
    let arn = job["TrainingJobArn"].as_str()?.to_string();
    let created = Timestamp::of(&job["CreationTime"]);
    // A job without tags may come without the member.
    let tags = match job.get_mut("Tags").map(Value::take) {
        Some(t @ Value::Array(_)) => t,
        _ => Value::Array(Vec::new()),
    };
    Some((arn, created, tags))
}
