use std::fmt;

/// The shape of one sample's tensor (batch size 1 is implied everywhere).
///
/// Feature maps are `[c, h, w]`; after `Flatten` a tensor is a vector of `c` features, shown as `[c]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    /// True for a flat feature vector (after `Flatten`); then `h == w == 1`.
    pub vector: bool,
}

impl Shape {
    /// A feature map `[c, h, w]`.
    pub const fn map(c: usize, h: usize, w: usize) -> Self {
        Self { c, h, w, vector: false }
    }

    /// A feature vector `[features]`.
    pub const fn vector(features: usize) -> Self {
        Self { c: features, h: 1, w: 1, vector: true }
    }

    /// Number of elements, or `None` on overflow.
    pub fn checked_numel(&self) -> Option<usize> {
        self.c.checked_mul(self.h)?.checked_mul(self.w)
    }

    /// Number of elements. Shapes in a built graph never overflow (the builder checks).
    pub fn numel(&self) -> u64 {
        self.c as u64 * self.h as u64 * self.w as u64
    }

    /// Spatial positions `h × w`.
    pub fn spatial(&self) -> u64 {
        self.h as u64 * self.w as u64
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.vector { write!(f, "[{}]", self.c) } else { write!(f, "[{}×{}×{}]", self.c, self.h, self.w) }
    }
}
