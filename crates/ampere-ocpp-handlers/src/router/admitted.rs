//! Which chargers were found admitted (registered and not `Rejected`) moments ago, so a
//! charger that sends messages back to back costs one registration read per second rather
//! than one per message.
//!
//! The registration is read again after [`ADMITTED_FOR`], so an operator who rejects or
//! deletes a connected charger is obeyed within that time; a BootNotification always reads
//! it afresh (see `Router::call`). Only admissions are remembered: a refusal is never cached,
//! so approving a charger takes effect at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ampere_domain::ChargerId;

pub const ADMITTED_FOR: Duration = Duration::from_secs(1);

#[derive(Clone, Default)]
pub struct Admitted {
    until: Arc<Mutex<HashMap<ChargerId, Instant>>>,
}

impl Admitted {
    pub fn holds(&self, charger: &ChargerId) -> bool {
        let until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        until.get(charger).is_some_and(|&t| Instant::now() < t)
    }

    pub fn remember(&self, charger: &ChargerId) {
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Chargers come and go: drop the stale entries now and then, at no cost per call.
        if until.len() >= 1024 && until.len().is_power_of_two() {
            until.retain(|_, t| now < *t);
        }
        until.insert(charger.clone(), now + ADMITTED_FOR);
    }

    pub fn forget(&self, charger: &ChargerId) {
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        until.remove(charger);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admission_is_remembered_for_a_while_and_can_be_forgotten() {
        let admitted = Admitted::default();
        let id = ChargerId::new("CP-1").unwrap();
        assert!(!admitted.holds(&id));
        admitted.remember(&id);
        assert!(admitted.holds(&id));
        assert!(!admitted.holds(&ChargerId::new("CP-2").unwrap()));
        admitted.forget(&id);
        assert!(!admitted.holds(&id));
    }

    #[test]
    fn stale_entries_are_dropped_as_the_map_grows() {
        let admitted = Admitted::default();
        for n in 0..1024 {
            let id = ChargerId::new(format!("CP-{n}")).unwrap();
            admitted.remember(&id);
            admitted
                .until
                .lock()
                .unwrap()
                .insert(id, Instant::now() - Duration::from_secs(1));
        }
        admitted.remember(&ChargerId::new("CP-new").unwrap());
        assert!(admitted.until.lock().unwrap().len() < 1024);
    }
}
