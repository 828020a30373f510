//! On SQLite, the configuration a registration or promotion reads on every request (CI
//! integrations, routing rules, environments, protections, workflows, webhooks, registries)
//! answered from memory between changes, instead of a statement (and two thread hops) each.
//!
//! Every write reaches SQLite through the one writer connection, whose update hook notes each
//! table a statement changed, whatever code path ran it. When the writer's batch ends
//! (committed or rolled back), each noted table's generation moves on, before any write of
//! that batch is acknowledged. A cached answer carries the generations of the tables it was
//! read from, taken before the read: it is used only while they have not moved, so a cached
//! answer is never older than the last acknowledged change. Inside a write transaction, an
//! answer is taken from memory only when the open batch has not changed its tables (the
//! transaction must see its batch's own writes).
//!
//! PostgreSQL has no cache: replicas change the same database, and nothing tells one replica
//! of another's writes.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The tables whose rows are cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    CiIntegrations,
    RoutingRules,
    Environments,
    Protections,
    Workflows,
    Webhooks,
    Artifactories,
}

const TABLES: [(Table, &str); 7] = [
    (Table::CiIntegrations, "ci_integrations"),
    (Table::RoutingRules, "routing_rules"),
    (Table::Environments, "environments"),
    (Table::Protections, "protections"),
    (Table::Workflows, "workflows"),
    (Table::Webhooks, "webhooks"),
    (Table::Artifactories, "artifactories"),
];

/// Past this many answers, the cache starts again empty: keys come from request fields (a
/// name that does not exist is an answer too), so they must not grow without bound.
const MAX_ENTRIES: usize = 4096;

struct Entry {
    stamp: u64,
    value: Arc<dyn Any + Send + Sync>,
}

#[derive(Default)]
pub(crate) struct ConfigCache {
    generations: [AtomicU64; TABLES.len()],
    touched: [AtomicBool; TABLES.len()],
    entries: Mutex<HashMap<String, Entry>>,
}

fn index(table: Table) -> usize {
    TABLES
        .iter()
        .position(|(t, _)| *t == table)
        .unwrap_or_default()
}

impl ConfigCache {
    /// The writer's update hook: a row of `table` changed in the open batch. A name it cannot
    /// read counts as every table.
    pub(crate) fn note_change(&self, table: &str) {
        for (i, (_, name)) in TABLES.iter().enumerate() {
            if table.is_empty() || *name == table {
                self.touched[i].store(true, Ordering::SeqCst);
            }
        }
    }

    /// The open batch ended: what it changed is now what readers see (or was undone). Called
    /// before its writes are acknowledged.
    pub(crate) fn batch_ended(&self) {
        for (i, touched) in self.touched.iter().enumerate() {
            if touched.swap(false, Ordering::SeqCst) {
                self.generations[i].fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// Whether the open batch changed any of `tables` (read while holding the writer).
    pub(crate) fn batch_changed(&self, tables: &[Table]) -> bool {
        tables
            .iter()
            .any(|t| self.touched[index(*t)].load(Ordering::SeqCst))
    }

    /// The generations of `tables`, as one number that moves when any of them does.
    pub(crate) fn stamp(&self, tables: &[Table]) -> u64 {
        tables
            .iter()
            .map(|t| self.generations[index(*t)].load(Ordering::SeqCst))
            .sum()
    }

    pub(crate) fn get<T: Clone + 'static>(&self, key: &str, stamp: u64) -> Option<T> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key).filter(|e| e.stamp == stamp)?;
        entry.value.downcast_ref::<T>().cloned()
    }

    pub(crate) fn put<T: Send + Sync + 'static>(&self, key: String, stamp: u64, value: T) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                stamp,
                value: Arc::new(value),
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

/// `load`'s answer, from `cache` while `tables` are unchanged since it was read under `key`;
/// without a cache, `load`'s answer.
pub(crate) async fn read_through<T, F>(
    cache: Option<&ConfigCache>,
    key: String,
    tables: &[Table],
    load: F,
) -> crate::Result<T>
where
    T: Clone + Send + Sync + 'static,
    F: std::future::Future<Output = crate::Result<T>>,
{
    let Some(cache) = cache else {
        return load.await;
    };
    let stamp = cache.stamp(tables);
    if let Some(value) = cache.get(&key, stamp) {
        return Ok(value);
    }
    let value = load.await?;
    cache.put(key, stamp, value.clone());
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_lasts_until_a_batch_that_changed_its_tables_ends() {
        let cache = ConfigCache::default();
        let tables = [Table::CiIntegrations, Table::RoutingRules];
        let stamp = cache.stamp(&tables);
        cache.put("ci".into(), stamp, 7u32);
        assert_eq!(cache.get::<u32>("ci", cache.stamp(&tables)), Some(7));

        cache.note_change("artifacts");
        cache.note_change("webhooks");
        cache.batch_ended();
        assert_eq!(
            cache.get::<u32>("ci", cache.stamp(&tables)),
            Some(7),
            "other tables changed"
        );

        cache.note_change("routing_rules");
        assert!(cache.batch_changed(&tables));
        assert!(!cache.batch_changed(&[Table::Webhooks]));
        assert_eq!(
            cache.get::<u32>("ci", cache.stamp(&tables)),
            Some(7),
            "not yet committed: readers still see the old rows"
        );
        cache.batch_ended();
        assert!(!cache.batch_changed(&tables));
        assert_eq!(cache.get::<u32>("ci", cache.stamp(&tables)), None);
    }

    #[test]
    fn a_table_name_that_cannot_be_read_counts_as_every_table() {
        let cache = ConfigCache::default();
        let stamp = cache.stamp(&[Table::Artifactories]);
        cache.put("registries".into(), stamp, "x".to_string());
        cache.note_change("");
        cache.batch_ended();
        let now = cache.stamp(&[Table::Artifactories]);
        assert_eq!(cache.get::<String>("registries", now), None);
    }

    #[test]
    fn an_answer_of_another_type_is_a_miss() {
        let cache = ConfigCache::default();
        cache.put("k".into(), 0, 1u8);
        assert_eq!(cache.get::<u16>("k", 0), None);
        assert_eq!(cache.get::<u8>("k", 0), Some(1));
    }

    #[test]
    fn the_cache_never_holds_more_than_its_bound() {
        let cache = ConfigCache::default();
        for i in 0..MAX_ENTRIES + 10 {
            cache.put(format!("ci/{i}"), 0, i);
        }
        assert!(cache.len() <= MAX_ENTRIES, "{}", cache.len());
        assert_eq!(
            cache.get::<usize>(&format!("ci/{}", MAX_ENTRIES + 9), 0),
            Some(MAX_ENTRIES + 9)
        );
    }
}
