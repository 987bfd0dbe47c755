//! Packing tasks into offers (pure): first fit over cpus, mem, disk and
//! ports, using only resources the framework's role may use (unreserved, or
//! reserved for that role; allocated to it on multi-role frameworks).
//! Reserved resources are used before unreserved ones, as a framework that
//! holds reservations expects. Resources the packer does not understand (an
//! unknown name, `cpus` as a range, a persistent volume where plain disk is
//! wanted) are skipped and reported, never fatal.

use mesos_common::proto::v1;

/// What one task needs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Demand {
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    pub ports: u32,
}

impl Demand {
    pub fn new(cpus: f64, mem: f64) -> Demand {
        Demand {
            cpus,
            mem,
            ..Demand::default()
        }
    }

    pub fn disk(mut self, disk: f64) -> Demand {
        self.disk = disk;
        self
    }

    pub fn ports(mut self, ports: u32) -> Demand {
        self.ports = ports;
        self
    }
}

/// Where a task goes: the offer's index and the exact resources to put in
/// its `TaskInfo` (carrying the offer's reservations and allocation info).
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub offer: usize,
    pub resources: Vec<v1::Resource>,
}

/// The result of [`pack`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Packing {
    /// One entry per task, `None` when no offer had room.
    pub placements: Vec<Option<Placement>>,
    /// Resources skipped, e.g. `offer o-1: 'cpus' of type RANGES`.
    pub ignored: Vec<String>,
}

impl Packing {
    /// The tasks placed in offer `offer`.
    pub fn tasks_in(&self, offer: usize) -> impl Iterator<Item = usize> + '_ {
        self.placements
            .iter()
            .enumerate()
            .filter(move |(_, p)| p.as_ref().is_some_and(|p| p.offer == offer))
            .map(|(i, _)| i)
    }
}

const EPSILON: f64 = 1e-9;

/// Whether `role` may use `r`.
// The legacy `role` field is still what pre-refinement masters send.
#[allow(deprecated)]
pub fn usable_by(r: &v1::Resource, role: &str) -> bool {
    if let Some(allocated) = r.allocation_info.as_ref().and_then(|a| a.role.as_deref())
        && allocated != role
    {
        return false;
    }
    if let Some(last) = r.reservations.last() {
        return last.role.as_deref() == Some(role);
    }
    match r.role.as_deref() {
        None | Some("*") => true,
        Some(legacy) => legacy == role,
    }
}

#[allow(deprecated)]
fn is_reserved(r: &v1::Resource) -> bool {
    !r.reservations.is_empty() || r.role.as_deref().is_some_and(|x| x != "*")
}

/// What is left of one offer while packing.
struct Remaining {
    /// Scalar entries (name, resource template, amount left).
    scalars: Vec<(v1::Resource, f64)>,
    /// Port ranges entries (template, free ranges).
    ports: Vec<(v1::Resource, Vec<(u64, u64)>)>,
}

fn remaining(index: usize, offer: &v1::Offer, role: &str, ignored: &mut Vec<String>) -> Remaining {
    let mut scalars = Vec::new();
    let mut ports = Vec::new();
    let scalar = v1::value::Type::Scalar as i32;
    let ranges = v1::value::Type::Ranges as i32;
    for r in &offer.resources {
        if !usable_by(r, role) {
            continue;
        }
        let what = format!("offer {} ({index}): '{}'", offer.id.value, r.name);
        match r.name.as_str() {
            "cpus" | "mem" | "disk" if r.r#type == scalar => {
                if r.disk
                    .as_ref()
                    .is_some_and(|d| d.persistence.is_some() || d.source.is_some())
                    || r.shared.is_some()
                {
                    ignored.push(format!("{what}: a volume or shared resource, not plain"));
                    continue;
                }
                match r.scalar.as_ref().map(|s| s.value) {
                    Some(v) if v.is_finite() && v > 0.0 => scalars.push((r.clone(), v)),
                    _ => ignored.push(format!("{what}: no positive scalar value")),
                }
            }
            "ports" if r.r#type == ranges => {
                let free = r
                    .ranges
                    .as_ref()
                    .map(|rs| {
                        rs.range
                            .iter()
                            .filter(|x| x.begin <= x.end)
                            .map(|x| (x.begin, x.end))
                            .collect()
                    })
                    .unwrap_or_default();
                ports.push((r.clone(), free));
            }
            "cpus" | "mem" | "disk" | "ports" => {
                let t = v1::value::Type::try_from(r.r#type).map_or("?", |t| t.as_str_name());
                ignored.push(format!("{what} of type {t}"));
            }
            _ => ignored.push(format!("{what}: not a resource the packer places")),
        }
    }
    // Reserved first: a framework's reservations exist to be used.
    scalars.sort_by_key(|(r, _)| !is_reserved(r));
    ports.sort_by_key(|(r, _)| !is_reserved(r));
    Remaining { scalars, ports }
}

impl Remaining {
    fn available(&self, name: &str) -> f64 {
        self.scalars
            .iter()
            .filter(|(r, _)| r.name == name)
            .map(|(_, v)| *v)
            .sum()
    }

    fn free_ports(&self) -> u64 {
        self.ports
            .iter()
            .flat_map(|(_, rs)| rs.iter().map(|(b, e)| e - b + 1))
            .sum()
    }

    fn fits(&self, d: &Demand) -> bool {
        self.available("cpus") + EPSILON >= d.cpus
            && self.available("mem") + EPSILON >= d.mem
            && self.available("disk") + EPSILON >= d.disk
            && self.free_ports() >= u64::from(d.ports)
    }

    fn take_scalar(&mut self, name: &str, mut want: f64, out: &mut Vec<v1::Resource>) {
        for (template, left) in self.scalars.iter_mut().filter(|(r, _)| r.name == name) {
            if want <= EPSILON {
                break;
            }
            let take = want.min(*left);
            if take <= EPSILON {
                continue;
            }
            *left -= take;
            want -= take;
            let mut r = template.clone();
            r.scalar = Some(v1::value::Scalar { value: take });
            out.push(r);
        }
    }

    fn take_ports(&mut self, mut want: u64, out: &mut Vec<v1::Resource>) {
        for (template, free) in &mut self.ports {
            if want == 0 {
                break;
            }
            let mut taken = Vec::new();
            while want > 0 {
                let Some((b, e)) = free.first().copied() else {
                    break;
                };
                let n = (e - b + 1).min(want);
                taken.push(v1::value::Range {
                    begin: b,
                    end: b + n - 1,
                });
                want -= n;
                if b + n > e {
                    free.remove(0);
                } else {
                    free[0].0 = b + n;
                }
            }
            if !taken.is_empty() {
                let mut r = template.clone();
                r.ranges = Some(v1::value::Ranges { range: taken });
                out.push(r);
            }
        }
    }
}

/// Packs `tasks` into `offers` first fit, in order, for `role`.
pub fn pack(offers: &[v1::Offer], role: &str, tasks: &[Demand]) -> Packing {
    let mut ignored = Vec::new();
    let mut left: Vec<Remaining> = offers
        .iter()
        .enumerate()
        .map(|(i, o)| remaining(i, o, role, &mut ignored))
        .collect();
    let placements = tasks
        .iter()
        .map(|d| {
            let (offer, room) = left.iter_mut().enumerate().find(|(_, r)| r.fits(d))?;
            let mut resources = Vec::new();
            room.take_scalar("cpus", d.cpus, &mut resources);
            room.take_scalar("mem", d.mem, &mut resources);
            room.take_scalar("disk", d.disk, &mut resources);
            room.take_ports(u64::from(d.ports), &mut resources);
            Some(Placement { offer, resources })
        })
        .collect();
    Packing {
        placements,
        ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builders::Resources;

    fn offer(id: &str, resources: Vec<v1::Resource>) -> v1::Offer {
        v1::Offer {
            id: v1::OfferId { value: id.into() },
            resources,
            ..Default::default()
        }
    }

    fn total(rs: &[v1::Resource], name: &str) -> f64 {
        rs.iter()
            .filter(|r| r.name == name)
            .filter_map(|r| r.scalar.as_ref())
            .map(|s| s.value)
            .sum()
    }

    #[test]
    fn first_fit_fills_an_offer_before_the_next() {
        let offers = vec![
            offer("a", Resources::new().cpus(1.0).mem(256.0).build()),
            offer("b", Resources::new().cpus(4.0).mem(1024.0).build()),
        ];
        let tasks = vec![Demand::new(0.5, 128.0); 5];
        let p = pack(&offers, "*", &tasks);
        let where_: Vec<_> = p
            .placements
            .iter()
            .map(|x| x.as_ref().map(|p| p.offer))
            .collect();
        assert_eq!(where_, vec![Some(0), Some(0), Some(1), Some(1), Some(1)]);
        assert_eq!(p.tasks_in(1).count(), 3);
        let first = p.placements[0].as_ref().unwrap();
        assert_eq!(total(&first.resources, "cpus"), 0.5);
        assert_eq!(total(&first.resources, "mem"), 128.0);
        assert!(p.ignored.is_empty());
        // Too big for any offer.
        let p = pack(&offers, "*", &[Demand::new(8.0, 1.0)]);
        assert_eq!(p.placements, vec![None]);
    }

    #[test]
    fn ports_are_taken_from_the_ranges() {
        let offers = vec![offer(
            "a",
            Resources::new()
                .cpus(2.0)
                .mem(512.0)
                .ports(&[(31000, 31001), (31005, 31010)])
                .build(),
        )];
        let p = pack(
            &offers,
            "*",
            &[
                Demand::new(0.1, 1.0).ports(3),
                Demand::new(0.1, 1.0).ports(8),
            ],
        );
        let ports = p.placements[0]
            .as_ref()
            .unwrap()
            .resources
            .iter()
            .find(|r| r.name == "ports")
            .unwrap()
            .clone();
        let ranges: Vec<_> = ports
            .ranges
            .unwrap()
            .range
            .iter()
            .map(|r| (r.begin, r.end))
            .collect();
        assert_eq!(ranges, vec![(31000, 31001), (31005, 31005)]);
        // 5 ports left: the second task does not fit.
        assert_eq!(p.placements[1], None);
    }

    #[test]
    fn other_roles_reservations_are_not_used_and_own_ones_come_first() {
        let offers = vec![offer(
            "a",
            [
                Resources::new().cpus(1.0).mem(100.0).build(),
                Resources::new().role("web").cpus(1.0).mem(100.0).build(),
                Resources::new().role("db").cpus(8.0).mem(8000.0).build(),
            ]
            .concat(),
        )];
        let p = pack(&offers, "web", &[Demand::new(1.5, 150.0)]);
        let rs = &p.placements[0].as_ref().unwrap().resources;
        assert_eq!(total(rs, "cpus"), 1.5);
        assert_eq!(
            rs[0].reservations.last().and_then(|r| r.role.as_deref()),
            Some("web")
        );
        assert!(rs.iter().all(|r| usable_by(r, "web")));
        assert_eq!(
            pack(&offers, "web", &[Demand::new(2.5, 1.0)]).placements,
            vec![None]
        );
        assert_eq!(
            pack(&offers, "*", &[Demand::new(1.5, 1.0)]).placements,
            vec![None]
        );
    }

    #[test]
    fn unexpected_resources_are_skipped_and_reported() {
        let mut weird = Resources::new().cpus(1.0).mem(64.0).build();
        weird[0].r#type = v1::value::Type::Ranges as i32;
        weird.push(v1::Resource {
            name: "gpus".into(),
            r#type: v1::value::Type::Scalar as i32,
            scalar: Some(v1::value::Scalar { value: 1.0 }),
            ..Default::default()
        });
        weird.push(v1::Resource {
            name: "mem".into(),
            r#type: v1::value::Type::Scalar as i32,
            scalar: Some(v1::value::Scalar { value: f64::NAN }),
            ..Default::default()
        });
        let p = pack(&[offer("w", weird)], "*", &[Demand::new(0.1, 1.0)]);
        assert_eq!(p.placements, vec![None]);
        assert_eq!(p.ignored.len(), 3, "{:?}", p.ignored);
        assert!(
            p.ignored[0].contains("'cpus' of type RANGES"),
            "{:?}",
            p.ignored
        );
        assert!(p.ignored[1].contains("gpus"));
        assert!(p.ignored[2].contains("no positive scalar"));
    }
}
