//! How much power a simulated EV draws, and the energy register that counts it.
//!
//! The curve is the usual shape of a lithium-ion charge: a short soft start, constant power
//! (the lower of what the car and the EVSE can do) up to 80 % state of charge, then a
//! linear taper to nothing at 100 % (the constant-voltage phase). Energy is the exact
//! integral of that curve over time, so the register only ever grows, whatever the sampling.

use rand::Rng;

/// Seconds the soft start takes to reach full power.
pub const RAMP_SECONDS: f64 = 2.0;
/// State of charge above which the power tapers off.
pub const TAPER_FROM_SOC: f64 = 0.8;

/// The car plugged into a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Ev {
    /// Usable battery capacity, Wh.
    pub capacity_wh: f64,
    /// Most power the car accepts, W.
    pub max_power_w: f64,
    /// State of charge, 0.0 ..= 1.0.
    pub soc: f64,
}

/// A few common cars (capacity in Wh, AC charging power in W).
const FLEET: [(f64, f64); 5] = [
    (40_000.0, 7_400.0),
    (58_000.0, 11_000.0),
    (77_000.0, 11_000.0),
    (64_000.0, 7_400.0),
    (90_000.0, 22_000.0),
];

impl Ev {
    /// A car from the fleet arriving with 10–70 % charge.
    pub fn random(rng: &mut impl Rng) -> Self {
        let (capacity_wh, max_power_w) = FLEET[rng.gen_range(0..FLEET.len())];
        Self {
            capacity_wh,
            max_power_w,
            soc: rng.gen_range(0.10..0.70),
        }
    }

    pub fn is_full(&self) -> bool {
        self.soc >= 0.999
    }
}

/// Power drawn `elapsed` seconds into the session, W, by a car at its current state of
/// charge on an EVSE limited to `limit_w`.
pub fn power_w(ev: &Ev, limit_w: f64, elapsed: f64) -> f64 {
    let ramp = (elapsed / RAMP_SECONDS).clamp(0.0, 1.0);
    let taper = if ev.soc <= TAPER_FROM_SOC {
        1.0
    } else {
        ((1.0 - ev.soc) / (1.0 - TAPER_FROM_SOC)).clamp(0.0, 1.0)
    };
    ev.max_power_w.min(limit_w).max(0.0) * ramp * taper
}

/// A session's meter: the EVSE's energy register and the car it charges.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionMeter {
    pub ev: Ev,
    /// EVSE power limit, W.
    pub limit_w: f64,
    /// Seconds since the session started, as far as it has been integrated.
    pub elapsed: f64,
    /// Power at `elapsed`, W (what a sample reports as Power.Active.Import).
    pub power_w: f64,
}

impl SessionMeter {
    pub fn new(ev: Ev, limit_w: f64) -> Self {
        Self {
            ev,
            limit_w,
            elapsed: 0.0,
            power_w: 0.0,
        }
    }

    /// Integrates the curve up to `elapsed` seconds into the session and returns the energy
    /// delivered since the last call, Wh (never negative). The register the caller keeps
    /// grows by exactly this.
    ///
    /// Integrated in steps of at most one second, because the curve changes with the state
    /// of charge it causes; a step that long is far finer than any curve feature.
    pub fn advance_to(&mut self, elapsed: f64) -> f64 {
        let mut delivered = 0.0;
        while self.elapsed < elapsed && !self.ev.is_full() {
            let step = (elapsed - self.elapsed).min(1.0);
            // Midpoint rule: exact for the linear ramp, close for the taper.
            let power = power_w(&self.ev, self.limit_w, self.elapsed + step / 2.0);
            let wh = (power * step / 3600.0).min((1.0 - self.ev.soc) * self.ev.capacity_wh);
            delivered += wh;
            self.ev.soc = (self.ev.soc + wh / self.ev.capacity_wh).min(1.0);
            self.elapsed += step;
        }
        self.elapsed = self.elapsed.max(elapsed);
        self.power_w = power_w(&self.ev, self.limit_w, self.elapsed);
        delivered
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn ev(soc: f64) -> Ev {
        Ev {
            capacity_wh: 60_000.0,
            max_power_w: 11_000.0,
            soc,
        }
    }

    #[test]
    fn soft_start_then_constant_then_taper() {
        assert_eq!(power_w(&ev(0.5), 22_000.0, 0.0), 0.0);
        assert_eq!(power_w(&ev(0.5), 22_000.0, RAMP_SECONDS / 2.0), 5_500.0);
        assert_eq!(power_w(&ev(0.5), 22_000.0, 60.0), 11_000.0);
        // The EVSE limit wins when it is lower than the car's.
        assert_eq!(power_w(&ev(0.5), 7_400.0, 60.0), 7_400.0);
        // Half-way through the taper: half power; full: nothing.
        assert!((power_w(&ev(0.9), 22_000.0, 60.0) - 5_500.0).abs() < 1e-6);
        assert_eq!(power_w(&ev(1.0), 22_000.0, 60.0), 0.0);
    }

    #[test]
    fn one_hour_at_constant_power_is_its_energy() {
        let mut meter = SessionMeter::new(ev(0.1), 22_000.0);
        meter.advance_to(RAMP_SECONDS);
        let wh = meter.advance_to(RAMP_SECONDS + 3600.0);
        assert!((wh - 11_000.0).abs() < 1e-6, "{wh}");
        assert_eq!(meter.power_w, 11_000.0);
    }

    #[test]
    fn energy_is_monotonic_and_independent_of_sampling() {
        let mut coarse = SessionMeter::new(ev(0.6), 22_000.0);
        let mut fine = SessionMeter::new(ev(0.6), 22_000.0);
        let mut coarse_total = 0.0;
        let mut fine_total = 0.0;
        for minute in 1..=120 {
            let wh = coarse.advance_to(f64::from(minute) * 60.0);
            assert!(wh >= 0.0);
            coarse_total += wh;
            for second in 1..=60 {
                let wh = fine.advance_to(f64::from(minute - 1) * 60.0 + f64::from(second));
                assert!(wh >= 0.0);
                fine_total += wh;
            }
        }
        assert!((coarse_total - fine_total).abs() < 1e-6);
        // From 60 %: about 1.1 h at 11 kW to reach 80 %, then the taper, in which the
        // remaining charge decays exponentially (time constant 12 kWh / 11 kW): ~91 % after
        // two hours, ~18.8 kWh delivered.
        assert!((coarse_total - 18_800.0).abs() < 300.0, "{coarse_total}");
        assert!((coarse.ev.soc - 0.913).abs() < 0.005, "{}", coarse.ev.soc);
    }

    #[test]
    fn a_full_battery_takes_nothing() {
        let mut meter = SessionMeter::new(ev(1.0), 22_000.0);
        assert_eq!(meter.advance_to(600.0), 0.0);
        assert_eq!(meter.power_w, 0.0);
        assert!(meter.ev.is_full());
    }

    #[test]
    fn random_cars_are_plausible() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..100 {
            let car = Ev::random(&mut rng);
            assert!((0.10..0.70).contains(&car.soc));
            assert!(car.capacity_wh >= 40_000.0 && car.max_power_w >= 7_400.0);
        }
    }
}
