//! The 2-D maps of a run ([`GridMap`]s, e.g. the region map of a slice),
//! per name in record order, with the number of distinct values of each
//! (its region count) counted once on arrival.

use rustc_hash::FxHashMap;

use crate::run::map::{GridMap, MapList};

/// One named map over the records that carry it.
#[derive(Debug, Clone, Default)]
pub struct MapSeries {
    name: Box<str>,
    records: Vec<u32>,
    maps: Vec<GridMap>,
    distinct: Vec<u32>,
}

impl MapSeries {
    /// The map's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of maps stored.
    pub fn len(&self) -> usize {
        self.maps.len()
    }

    /// Whether no map is stored.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// Record number of map `i`.
    pub fn record(&self, i: usize) -> usize {
        self.records[i] as usize
    }

    /// Map `i`.
    pub fn get(&self, i: usize) -> &GridMap {
        &self.maps[i]
    }

    /// Number of distinct values of map `i` (its regions, for labels).
    pub fn distinct(&self, i: usize) -> usize {
        self.distinct[i] as usize
    }

    /// Number of maps within the run's first `records` records: O(log n).
    pub fn visible_len(&self, records: usize) -> usize {
        self.records.partition_point(|&r| (r as usize) < records)
    }

    fn heap_bytes(&self) -> usize {
        self.records.capacity() * 4
            + self.distinct.capacity() * 4
            + self
                .maps
                .iter()
                .map(|m| m.runs().len() * 8 + m.marks.len() * 48)
                .sum::<usize>()
    }
}

/// Every map series of a run.
#[derive(Debug, Clone, Default)]
pub struct MapStore {
    ids: FxHashMap<Box<str>, usize>,
    series: Vec<MapSeries>,
}

impl MapStore {
    /// Map names, in order of first appearance.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.series.iter().map(|s| &*s.name)
    }

    /// A map series by name.
    pub fn series(&self, name: &str) -> Option<&MapSeries> {
        self.ids.get(name).map(|&i| &self.series[i])
    }

    /// Whether no map was stored.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Adds the well-formed maps of `maps` to record `rec` (the others were
    /// reported by the reader).
    pub(super) fn push(&mut self, rec: u32, maps: &MapList<'_>) {
        for (name, map) in &maps.0 {
            let Ok(map) = map else { continue };
            let id = match self.ids.get(&**name) {
                Some(&id) => id,
                None => {
                    let id = self.series.len();
                    self.series.push(MapSeries {
                        name: (&**name).into(),
                        ..MapSeries::default()
                    });
                    self.ids.insert((&**name).into(), id);
                    id
                }
            };
            let s = &mut self.series[id];
            s.records.push(rec);
            s.distinct.push(map.distinct() as u32);
            s.maps.push(map.clone());
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.series.iter().map(MapSeries::heap_bytes).sum()
    }
}
