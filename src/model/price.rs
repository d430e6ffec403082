//! What a price is: for which component, in which region, at how many dollars, and the size of
//! the instance type it prices. The Price List's parsing (`prices::offer`), `prices load` and the
//! store all speak it.

/// What a price is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    /// On-demand training on this instance type, per instance-hour.
    Training { instance_type: String },
    /// Training volume storage, per GB-month.
    Storage,
}

impl Component {
    /// The unit the Price List states this component's price in.
    pub fn unit(&self) -> &'static str {
        match self {
            Component::Training { .. } => "Hrs",
            Component::Storage => "GB-Mo",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListedPrice {
    pub region: String,
    pub component: Component,
    /// USD per [`Component::unit`].
    pub usd: f64,
    pub sku: String,
    pub effective_date: Option<String>,
    /// The instance type's size, for a Training price.
    pub size: Option<Size>,
}

/// An instance type's GPUs, vCPUs and GPU memory, each `None` when unknown.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Size {
    pub gpus: Option<u32>,
    pub vcpus: Option<u32>,
    pub gpu_memory_gib: Option<f64>,
}
