//! Channel shuffle (ShuffleNet, Zhang et al. 2018, Section 3.1) as a permutation, and the connectivity
//! of two stacked group convolutions with and without it.

use crate::{Result, invalid};

/// Check `channels` and `groups` for a shuffle or a group convolution.
fn check(channels: usize, groups: usize) -> Result<usize> {
    if channels == 0 || groups == 0 {
        return invalid(format!("channels and groups must be positive (got {channels} channels, {groups} groups)"));
    }
    if !channels.is_multiple_of(groups) {
        return invalid(format!("{groups} groups do not divide {channels} channels"));
    }
    Ok(channels / groups)
}

/// Output channel `i` of the shuffle takes input channel `permutation[i]`: PyTorch's
/// `x.view(n, g, c / g, h, w).transpose(1, 2).reshape(n, c, h, w)` (torchvision `channel_shuffle`).
pub fn permutation(channels: usize, groups: usize) -> Result<Vec<usize>> {
    let per_group = check(channels, groups)?;
    Ok((0..channels).map(|i| (i % groups) * per_group + i / groups).collect())
}

/// `connected[o][i]`: whether output channel `o` of `GConv(g) → [shuffle(g)] → GConv(g)` (both
/// `channels → channels`) depends on input channel `i`.
pub fn stacked_group_convs(channels: usize, groups: usize, shuffled: bool) -> Result<Vec<Vec<bool>>> {
    let per_group = check(channels, groups)?;
    let order: Vec<usize> = if shuffled { permutation(channels, groups)? } else { (0..channels).collect() };
    let mut connected = vec![vec![false; channels]; channels];
    for (o, row) in connected.iter_mut().enumerate() {
        // The second convolution's group reads these positions; each holds a channel of the first's
        // output, which reads its own group of the input.
        let group = o / per_group;
        for position in group * per_group..(group + 1) * per_group {
            let middle = order.get(position).copied().unwrap_or(position);
            let first_group = middle / per_group;
            for cell in row.iter_mut().skip(first_group * per_group).take(per_group) {
                *cell = true;
            }
        }
    }
    Ok(connected)
}

/// The share of (output, input) pairs that are connected.
pub fn density(connected: &[Vec<bool>]) -> f64 {
    let cells: usize = connected.iter().map(Vec::len).sum();
    let on: usize = connected.iter().map(|r| r.iter().filter(|&&c| c).count()).sum();
    if cells == 0 { 0.0 } else { on as f64 / cells as f64 }
}

/// Where the channels of input channel `channel` go through `GConv → shuffle → GConv`: the middle
/// channels it feeds (first convolution), their positions after the shuffle, and the output channels
/// that read them (second convolution).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    pub middle: Vec<usize>,
    pub shuffled: Vec<usize>,
    pub outputs: Vec<usize>,
}

pub fn trace(channels: usize, groups: usize, channel: usize) -> Result<Trace> {
    let per_group = check(channels, groups)?;
    if channel >= channels {
        return invalid(format!("channel {channel} is out of range (0..{channels})"));
    }
    let group = channel / per_group;
    let middle: Vec<usize> = (group * per_group..(group + 1) * per_group).collect();
    let order = permutation(channels, groups)?;
    let mut shuffled: Vec<usize> =
        (0..channels).filter(|p| order.get(*p).is_some_and(|m| middle.contains(m))).collect();
    shuffled.sort_unstable();
    let mut groups_hit: Vec<usize> = shuffled.iter().map(|p| p / per_group).collect();
    groups_hit.dedup();
    let outputs = groups_hit.iter().flat_map(|g| g * per_group..(g + 1) * per_group).collect();
    Ok(Trace { middle, shuffled, outputs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_matches_pytorch() {
        // torch 2.15: torch.arange(C).view(1, g, C // g, 1, 1).transpose(1, 2).reshape(C).tolist()
        assert_eq!(permutation(6, 2), Ok(vec![0, 3, 1, 4, 2, 5]));
        assert_eq!(permutation(6, 3), Ok(vec![0, 2, 4, 1, 3, 5]));
        assert_eq!(permutation(12, 3), Ok(vec![0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]));
        assert_eq!(permutation(4, 1), Ok(vec![0, 1, 2, 3]));
        assert_eq!(permutation(4, 4), Ok(vec![0, 1, 2, 3]));
    }

    #[test]
    fn shuffle_makes_stacked_group_convs_dense() {
        // Zhang et al. 2018, Figure 1: without the shuffle each output sees only its own group (block
        // diagonal, density 1/g); with it, every output sees every group when c/g ≥ g.
        let plain = stacked_group_convs(12, 3, false).unwrap_or_default();
        assert!((density(&plain) - 1.0 / 3.0).abs() < 1e-12);
        assert!(plain[0][0] && !plain[0][4] && plain[11][11] && !plain[11][0]);
        let shuffled = stacked_group_convs(12, 3, true).unwrap_or_default();
        assert!((density(&shuffled) - 1.0).abs() < 1e-12);
        // c/g < g: 4 groups of 2 reach only 2 of the 4 groups each.
        assert!((density(&stacked_group_convs(8, 4, true).unwrap_or_default()) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn trace_follows_one_channel() {
        // Input 0 (group 0 of 3, 4 channels each) feeds middle 0..4; the shuffle puts them at 0, 3, 6, 9,
        // read by all three groups of the second convolution.
        let t = trace(12, 3, 0).unwrap_or_else(|_| Trace { middle: vec![], shuffled: vec![], outputs: vec![] });
        assert_eq!(t.middle, vec![0, 1, 2, 3]);
        assert_eq!(t.shuffled, vec![0, 3, 6, 9]);
        assert_eq!(t.outputs, (0..12).collect::<Vec<_>>());
    }

    #[test]
    fn bad_sizes_are_refused() {
        assert_eq!(permutation(10, 3), Err(crate::InsightError("3 groups do not divide 10 channels".into())));
        assert!(permutation(0, 1).is_err());
        assert!(permutation(4, 0).is_err());
        assert!(trace(4, 2, 4).is_err());
    }
}
