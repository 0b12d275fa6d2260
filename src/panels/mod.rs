//! Every panel of the shell, one file each, as `*_ui` functions over borrowed state.

mod architecture;
mod backend;
mod build_view;
mod compare;
mod download;
mod feature_maps;
mod ghost_lab;
mod insight_photo;
mod inspector;
mod layer_table;
mod layer_time;
mod model_picker;
mod run_view;
mod separable_lab;
mod shuffle_lab;
mod status_bar;
mod swap_lab;
mod top_bar;
mod welcome;

pub use architecture::architecture_panel_ui;
pub use backend::{backend_badge_ui, backend_details_ui};
pub use build_view::build_view_ui;
pub use compare::{ZooPoint, compare_ui, zoo_points};
pub use feature_maps::MapsState;
pub use ghost_lab::{GhostLabState, ghost_lab_ui};
pub use inspector::inspector_panel_ui;
pub use layer_table::{LayerTimes, TableState, layer_table_ui};
pub use model_picker::model_picker_ui;
pub use run_view::run_view_ui;
pub use separable_lab::{SeparableLabState, separable_lab_ui};
pub use shuffle_lab::{ShuffleLabState, shuffle_lab_ui};
pub use status_bar::status_bar_ui;
pub use swap_lab::{Module as SwapModule, SwapLabState, swap_lab_ui};
pub use top_bar::top_bar_ui;
pub use welcome::welcome_ui;
