//! Every panel of the shell, one file each, as `*_ui` functions over borrowed state.

mod architecture;
mod backend;
mod inspector;
mod status_bar;
mod top_bar;
mod welcome;

pub use architecture::architecture_panel_ui;
pub use backend::{backend_badge_ui, backend_details_ui};
pub use inspector::inspector_panel_ui;
pub use status_bar::status_bar_ui;
pub use top_bar::top_bar_ui;
pub use welcome::welcome_ui;
