//! Colormaps: for values on [0, 1], viridis (sequential, perceptually uniform) by piecewise-linear
//! interpolation of matplotlib's table sampled every 1/8; for categories (conditions, directions,
//! paths), matplotlib's ten "tab10" colours.

/// matplotlib's viridis at 0, 1/8, …, 1 (linear RGB is not used: these are sRGB values).
const VIRIDIS: [[f32; 3]; 9] = [
    [0.267004, 0.004874, 0.329415],
    [0.282623, 0.140926, 0.457517],
    [0.253935, 0.265254, 0.529983],
    [0.206756, 0.371758, 0.553117],
    [0.163625, 0.471133, 0.558148],
    [0.127568, 0.566949, 0.550556],
    [0.134692, 0.658636, 0.517649],
    [0.266941, 0.748751, 0.440573],
    [0.993248, 0.906157, 0.143936],
];

/// matplotlib's "tab10", the categorical colours of every figure's series.
pub const CATEGORICAL: [&str; 10] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/// The colour of category `k` (repeating after ten).
pub fn categorical(k: usize) -> &'static str {
    CATEGORICAL[k % CATEGORICAL.len()]
}

/// sRGB colour of `t` (clamped to [0, 1]; NaN maps to grey).
pub fn viridis(t: f64) -> [f32; 3] {
    if t.is_nan() {
        return [0.5, 0.5, 0.5];
    }
    let x = t.clamp(0.0, 1.0) as f32 * (VIRIDIS.len() - 1) as f32;
    let lo = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - lo as f32;
    let (a, b) = (VIRIDIS[lo], VIRIDIS[lo + 1]);
    [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])]
}

/// `#rrggbb` for SVG and CSS.
pub fn to_hex(rgb: [f32; 3]) -> String {
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    format!("#{:02x}{:02x}{:02x}", byte(rgb[0]), byte(rgb[1]), byte(rgb[2]))
}

/// The colour of `#rrggbb` (None for anything else).
pub fn from_hex(hex: &str) -> Option<[f32; 3]> {
    let digits = hex.strip_prefix('#').filter(|d| d.len() == 6 && d.is_ascii())?;
    let byte = |k: usize| u8::from_str_radix(&digits[2 * k..2 * k + 2], 16).ok().map(|b| f32::from(b) / 255.0);
    Some([byte(0)?, byte(1)?, byte(2)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luminance(c: [f32; 3]) -> f32 {
        0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    }

    #[test]
    fn viridis_hits_its_anchors_and_gets_brighter() {
        let close = |a: [f32; 3], b: [f32; 3]| a.iter().zip(b).all(|(p, q)| (p - q).abs() < 1e-6);
        assert!(close(viridis(0.0), VIRIDIS[0]));
        assert!(close(viridis(1.0), VIRIDIS[8]));
        assert!(close(viridis(0.5), VIRIDIS[4]));
        let mut last = -1.0;
        for i in 0..=100 {
            let l = luminance(viridis(i as f64 / 100.0));
            assert!(l > last, "luminance must increase monotonically");
            last = l;
        }
        assert_eq!(viridis(-3.0), viridis(0.0));
        assert_eq!(to_hex([1.0, 0.0, 0.5]), "#ff0080");
        assert_eq!(from_hex("#ff0080"), Some([1.0, 0.0, 128.0 / 255.0]));
        for hex in ["#1f77b4", "#000000", "#ffffff"] {
            assert_eq!(to_hex(from_hex(hex).unwrap()), hex);
        }
        for bad in ["ff0080", "#ff008", "#gg0080", "#ff00800", "#ff00é"] {
            assert_eq!(from_hex(bad), None, "{bad}");
        }
    }
}
