//! Sorter behaviour: DRF order, weights, hierarchy, snapshot iteration,
//! random sorter.

use super::super::qty::Qty;
use super::super::rng::Rng;
use super::super::sorter::{Cursor, ShareContext, Sorter, SorterKind};

fn total(cpus: i64, mem: i64) -> Qty {
    let mut q = Qty::new();
    q.add_at(0, cpus * 1000);
    q.add_at(1, mem * 1000);
    q
}

fn qty(cpus: i64, mem: i64) -> Qty {
    total(cpus, mem)
}

fn ctx(total: &Qty) -> ShareContext<'_> {
    ShareContext {
        total,
        excluded: &[],
        total_version: 1,
    }
}

fn sorter_with(clients: &[(u32, &str)]) -> Sorter {
    let mut s = Sorter::new(SorterKind::Drf);
    for (c, path) in clients {
        s.add(*c, path);
        s.activate(*c);
    }
    s
}

#[test]
fn drf_orders_by_dominant_share_then_count_then_path() {
    let t = total(100, 100);
    let c = ctx(&t);
    let mut s = sorter_with(&[(1, "a"), (2, "b"), (3, "c")]);
    let mut rng = Rng::new(1);
    assert_eq!(s.sorted(&c, &mut rng), vec![1, 2, 3]);
    // a: cpus 10% dominant; b: mem 20% dominant; c nothing.
    s.allocated(1, &qty(10, 1), &c);
    s.allocated(2, &qty(1, 20), &c);
    assert_eq!(s.sorted(&c, &mut rng), vec![3, 1, 2]);
    // Equal shares: the less-chosen client first.
    s.allocated(3, &qty(10, 0), &c);
    s.allocated(3, &qty(0, 0), &c);
    assert!((s.share(3, &c) - 0.1).abs() < 1e-9);
    assert_eq!(s.sorted(&c, &mut rng), vec![1, 3, 2]);
    s.unallocated(2, &qty(1, 20), &c);
    assert_eq!(s.sorted(&c, &mut rng)[0], 2);
}

#[test]
fn weights_divide_shares() {
    let t = total(100, 100);
    let c = ctx(&t);
    let mut s = sorter_with(&[(1, "light"), (2, "heavy")]);
    s.update_weight("heavy", 3.0);
    let mut rng = Rng::new(1);
    s.allocated(1, &qty(10, 0), &c);
    s.allocated(2, &qty(25, 0), &c);
    // 0.10 vs 0.25 / 3 = 0.083: heavy is still behind.
    assert_eq!(s.sorted(&c, &mut rng), vec![2, 1]);
    assert!((s.share(2, &c) - 0.25 / 3.0).abs() < 1e-9);
}

#[test]
fn hierarchy_sorts_subtrees_as_wholes() {
    let t = total(100, 100);
    let c = ctx(&t);
    // eng/{a,b}, ops; eng is also a client (virtual leaf).
    let mut s = sorter_with(&[(1, "eng/a"), (2, "eng/b"), (3, "ops"), (4, "eng")]);
    let mut rng = Rng::new(1);
    s.allocated(1, &qty(30, 0), &c);
    s.allocated(3, &qty(20, 0), &c);
    // eng (30%) is behind ops (20%); inside eng: eng (virtual, 0), b (0), a (30%).
    let order = s.sorted(&c, &mut rng);
    assert_eq!(order[0], 3);
    assert_eq!(&order[1..], &[4, 2, 1]);
    // Removing the virtual client folds eng back; remaining order stays sane.
    s.remove(4);
    assert_eq!(s.sorted(&c, &mut rng), vec![3, 2, 1]);
    s.remove(1);
    s.remove(2);
    assert_eq!(s.sorted(&c, &mut rng), vec![3]);
    assert_eq!(s.count(), 1);
}

#[test]
fn iteration_is_a_snapshot_despite_allocations() {
    let t = total(100, 100);
    let c = ctx(&t);
    let mut s = sorter_with(&[(1, "a"), (2, "b"), (3, "c"), (4, "d")]);
    let mut rng = Rng::new(1);
    let mut cursor = Cursor::default();
    s.begin(&mut cursor, &c, &mut rng);
    let mut seen = Vec::new();
    while let Some(client) = s.next(&mut cursor) {
        seen.push(client);
        // Every visited client jumps to the back; it must not come again.
        s.allocated(client, &qty(5, 0), &c);
    }
    assert_eq!(seen, vec![1, 2, 3, 4]);
}

#[test]
fn inactive_clients_are_skipped_and_keep_allocations() {
    let t = total(100, 100);
    let c = ctx(&t);
    let mut s = sorter_with(&[(1, "a"), (2, "b")]);
    let mut rng = Rng::new(1);
    s.allocated(1, &qty(5, 0), &c);
    s.deactivate(1);
    assert_eq!(s.sorted(&c, &mut rng), vec![2]);
    assert_eq!(s.allocation(1).unwrap().get(0), 5000);
    s.activate(1);
    assert_eq!(s.sorted(&c, &mut rng), vec![2, 1]);
}

#[test]
fn random_sorter_favours_heavier_clients() {
    let t = total(100, 100);
    let c = ctx(&t);
    let mut s = Sorter::new(SorterKind::Random);
    for (id, path) in [(1, "light"), (2, "heavy")] {
        s.add(id, path);
        s.activate(id);
    }
    s.update_weight("heavy", 9.0);
    let mut rng = Rng::new(42);
    let mut heavy_first = 0;
    for _ in 0..2000 {
        let order = s.sorted(&c, &mut rng);
        assert_eq!(order.len(), 2);
        if order[0] == 2 {
            heavy_first += 1;
        }
    }
    // P(heavy first) = 0.9.
    assert!((1700..1900).contains(&heavy_first), "{heavy_first}");
}
