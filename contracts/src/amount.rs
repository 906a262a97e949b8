//! ATN amounts for people: every amount the CLI, progress lines and reports print goes through
//! [`Atn`], so it reads the same everywhere (`1234.567890 ATN`: whole ATN, six decimals,
//! truncated). Wei stay in JSON, where scripts want exact integers.

use std::fmt;

use alloy::primitives::U256;

use crate::deploy::ATN;

/// Decimals shown.
const DECIMALS: usize = 6;

/// An amount in ATN wei, displayed in ATN with [`DECIMALS`] decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Atn(pub U256);

impl fmt::Display for Atn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / ATN;
        let frac = self.0 % ATN;
        // 18 decimals of wei, cut to DECIMALS (truncated: never shows more than is held).
        let frac = format!("{frac:0>18}");
        let text = format!("{whole}.{} ATN", &frac[..DECIMALS]);
        f.pad(&text)
    }
}

impl Atn {
    /// The amount as a float of whole ATN (plots and metrics; not for balances).
    pub fn as_f64(self) -> f64 {
        let whole = (self.0 / ATN).saturating_to::<u128>() as f64;
        let frac = (self.0 % ATN).saturating_to::<u128>() as f64 / 1e18;
        whole + frac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_whole_atn_with_six_decimals() {
        assert_eq!(Atn(U256::ZERO).to_string(), "0.000000 ATN");
        assert_eq!(Atn(ATN * U256::from(50)).to_string(), "50.000000 ATN");
        assert_eq!(Atn(U256::from(1)).to_string(), "0.000000 ATN");
        let x = U256::from(9_822_877_738_409_293_749u128);
        assert_eq!(Atn(x).to_string(), "9.822877 ATN");
        assert_eq!(format!("{:>16}", Atn(x)), "    9.822877 ATN");
        assert!((Atn(x).as_f64() - 9.822877738).abs() < 1e-9);
        assert_eq!(Atn(U256::MAX).to_string().len(), 60 + 1 + 6 + 4);
    }
}
