//! View components, one per file.

pub mod cluster;
pub mod config_panel;
pub mod controls;
pub mod event_log;
pub mod metrics_panel;
pub mod network_matrix;
pub mod producer_panel;
pub mod scenario_picker;
pub mod seed_search_panel;
pub mod storage_panel;
