//! One-way analysis of variance: the F statistic of k groups and its p-value from the F
//! distribution's survival function, through the regularised incomplete beta function (Lentz's
//! continued fraction, as Numerical Recipes' `betacf`), with `libm`'s log-gamma.
//!
//! Used for direction tuning of units (a unit is tuned when its activity differs between target
//! directions, p < 0.01). Checked against scipy.stats.f_oneway and scipy.special.betainc.

use crate::fmath::FloatExt;

/// F statistic, degrees of freedom and p-value of a one-way ANOVA.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anova {
    pub f: f64,
    pub df_between: f64,
    pub df_within: f64,
    pub p: f64,
}

/// One-way ANOVA of `groups` (each a sample). None with fewer than 2 groups or no within-group
/// degrees of freedom. Zero within-group variance gives F = ∞ and p = 0 (unless every value is
/// equal: F undefined, None).
pub fn one_way(groups: &[&[f64]]) -> Option<Anova> {
    let k = groups.iter().filter(|g| !g.is_empty()).count();
    let n: usize = groups.iter().map(|g| g.len()).sum();
    if k < 2 || n <= k {
        return None;
    }
    let grand = groups.iter().flat_map(|g| g.iter()).sum::<f64>() / n as f64;
    let (mut between, mut within) = (0.0, 0.0);
    for g in groups.iter().filter(|g| !g.is_empty()) {
        let mean = g.iter().sum::<f64>() / g.len() as f64;
        between += g.len() as f64 * (mean - grand).squared();
        within += g.iter().map(|v| (v - mean).squared()).sum::<f64>();
    }
    let (df_between, df_within) = ((k - 1) as f64, (n - k) as f64);
    if within == 0.0 {
        return (between > 0.0).then_some(Anova { f: f64::INFINITY, df_between, df_within, p: 0.0 });
    }
    let f = (between / df_between) / (within / df_within);
    Some(Anova { f, df_between, df_within, p: f_survival(f, df_between, df_within) })
}

/// P(F > f) for F(d1, d2) = I_{d2/(d2 + d1 f)}(d2/2, d1/2).
pub fn f_survival(f: f64, d1: f64, d2: f64) -> f64 {
    if f <= 0.0 {
        return 1.0;
    }
    regularized_beta(d2 / (d2 + d1 * f), d2 / 2.0, d1 / 2.0)
}

/// The regularised incomplete beta function I_x(a, b).
pub fn regularized_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * libm::log(x) + b * libm::log(1.0 - x);
    let front = libm::exp(ln_front);
    // The continued fraction converges fast for x < (a + 1)/(a + b + 2); use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_continued_fraction(1.0 - x, b, a) / b
    }
}

fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    /// Lentz's guard: a denominator this close to 0 is replaced by it.
    fn away_from_zero(v: f64) -> f64 {
        const TINY: f64 = 1e-300;
        if v.abs() < TINY {
            TINY
        } else {
            v
        }
    }
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / away_from_zero(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        // The even and the odd term of the fraction.
        let even = m * (b - m) * x / ((qam + m2) * (a + m2));
        let odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        let mut step = 1.0;
        for aa in [even, odd] {
            d = 1.0 / away_from_zero(1.0 + aa * d);
            c = away_from_zero(1.0 + aa / c);
            step = d * c;
            h *= step;
        }
        if (step - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytic_cases() {
        // I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 − (1 − x)^b.
        for &x in &[0.1, 0.5, 0.93] {
            assert!((regularized_beta(x, 1.0, 1.0) - x).abs() < 1e-14);
            assert!((regularized_beta(x, 3.5, 1.0) - x.powf(3.5)).abs() < 1e-13);
            assert!((regularized_beta(x, 1.0, 2.5) - (1.0 - (1.0 - x).powf(2.5))).abs() < 1e-13);
        }
        // F(2, d2): P(F > f) = (1 + 2f/d2)^(−d2/2).
        for &(f, d2) in &[(0.5, 7.0), (3.0, 20.0), (12.0, 3.0)] {
            assert!((f_survival(f, 2.0, d2) - (1.0 + 2.0 * f / d2).powf(-d2 / 2.0)).abs() < 1e-13);
        }
        // Two groups: F equals the pooled t statistic squared.
        let (a, b) = ([1.0, 2.0, 4.0], [3.0, 5.0, 6.0, 8.0]);
        let r = one_way(&[&a, &b]).unwrap();
        let (ma, mb): (f64, f64) = (7.0 / 3.0, 22.0 / 4.0);
        let pooled = (a.iter().map(|v| (v - ma).squared()).sum::<f64>()
            + b.iter().map(|v| (v - mb).squared()).sum::<f64>())
            / 5.0;
        let t2 = (ma - mb).squared() / (pooled * (1.0 / 3.0 + 1.0 / 4.0));
        assert!((r.f - t2).abs() < 1e-12, "{} vs {t2}", r.f);
        assert_eq!(one_way(&[&[1.0, 1.0], &[1.0, 1.0]]), None);
        assert_eq!(one_way(&[&[1.0, 1.0], &[2.0, 2.0]]).unwrap().p, 0.0);
        assert_eq!(one_way(&[&[1.0, 2.0]]), None);
    }
}
