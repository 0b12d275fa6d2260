//! Fonts: egui's bundled Ubuntu-Light has no arrows (→ ↑ ↓) or geometric shapes, which the views use to
//! show shapes flowing and sort directions. egui also bundles Hack (its monospace font), which has them;
//! adding it as the proportional fallback costs nothing in download size.

/// Install the app's fonts on `ctx`. Call before the first frame.
pub fn install(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    if let Some(proportional) = fonts.families.get_mut(&egui::FontFamily::Proportional) {
        let at = proportional.iter().position(|name| name == "Ubuntu-Light").map_or(0, |i| i + 1);
        proportional.insert(at, "Hack".to_owned());
    }
    ctx.set_fonts(fonts);
}
