//! Colormaps for feature maps: viridis (perceptually uniform, readable in grey) and a diverging map for
//! signed maps.

use egui::Color32;

/// Viridis (van der Walt & Smith, CC0) sampled at nine points; linear in between.
const VIRIDIS: [[u8; 3]; 9] = [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colormap {
    Viridis,
    Gray,
    /// Blue below zero, white at zero, red above, symmetric around zero.
    Diverging,
}

impl Colormap {
    pub const ALL: [Self; 3] = [Self::Viridis, Self::Gray, Self::Diverging];

    pub fn name(self) -> &'static str {
        match self {
            Self::Viridis => "viridis",
            Self::Gray => "gray",
            Self::Diverging => "blue–red",
        }
    }

    /// The color of `value` in `[lo, hi]`.
    pub fn color(self, value: f32, lo: f32, hi: f32) -> Color32 {
        match self {
            Self::Diverging => {
                let m = lo.abs().max(hi.abs()).max(f32::MIN_POSITIVE);
                let t = (value / m).clamp(-1.0, 1.0);
                let fade = |t: f32| (255.0 * (1.0 - t)) as u8;
                if t >= 0.0 {
                    Color32::from_rgb(255, fade(t), fade(t))
                } else {
                    Color32::from_rgb(fade(-t), fade(-t), 255)
                }
            }
            _ => {
                let t = if hi > lo { ((value - lo) / (hi - lo)).clamp(0.0, 1.0) } else { 0.5 };
                if self == Self::Gray {
                    let g = (t * 255.0) as u8;
                    return Color32::from_rgb(g, g, g);
                }
                let x = t * (VIRIDIS.len() - 1) as f32;
                let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
                let f = x - i as f32;
                let (a, b) =
                    (VIRIDIS.get(i).copied().unwrap_or_default(), VIRIDIS.get(i + 1).copied().unwrap_or_default());
                let mix = |k: usize| {
                    let (p, q) = (f32::from(a.get(k).copied().unwrap_or(0)), f32::from(b.get(k).copied().unwrap_or(0)));
                    (p + (q - p) * f) as u8
                };
                Color32::from_rgb(mix(0), mix(1), mix(2))
            }
        }
    }
}

impl Colormap {
    /// 256 colours for positions t = i / 255 in a channel's range, packed `r | g << 8 | b << 16 | a << 24`
    /// for the GPU painter (`shaders/colormap.wgsl`): the same colours as [`Colormap::color`], the
    /// diverging map with t = 0.5 at zero.
    pub fn table(self) -> [u32; 256] {
        std::array::from_fn(|i| {
            let t = i as f32 / 255.0;
            let c = match self {
                Self::Diverging => self.color(2.0 * t - 1.0, -1.0, 1.0),
                _ => self.color(t, 0.0, 1.0),
            };
            u32::from_le_bytes([c.r(), c.g(), c.b(), 255])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_hold_the_same_colours() {
        for map in Colormap::ALL {
            let table = map.table();
            let rgb = |c: Color32| u32::from_le_bytes([c.r(), c.g(), c.b(), 255]);
            match map {
                Colormap::Diverging => {
                    assert_eq!(table[0], rgb(map.color(-1.0, -1.0, 1.0)));
                    assert_eq!(table[255], rgb(map.color(1.0, -1.0, 1.0)));
                }
                _ => {
                    assert_eq!(table[0], rgb(map.color(0.0, 0.0, 1.0)));
                    assert_eq!(table[255], rgb(map.color(1.0, 0.0, 1.0)));
                }
            }
        }
    }

    #[test]
    fn ends_and_middle() {
        assert_eq!(Colormap::Viridis.color(0.0, 0.0, 1.0), Color32::from_rgb(68, 1, 84));
        assert_eq!(Colormap::Viridis.color(1.0, 0.0, 1.0), Color32::from_rgb(253, 231, 37));
        assert_eq!(Colormap::Gray.color(5.0, 0.0, 10.0), Color32::from_rgb(127, 127, 127));
        assert_eq!(Colormap::Diverging.color(0.0, -1.0, 1.0), Color32::WHITE);
        assert_eq!(Colormap::Diverging.color(-2.0, -1.0, 1.0), Color32::from_rgb(0, 0, 255));
    }
}
