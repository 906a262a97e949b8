//! Net scores: `net = posts + Σ net(pro children) − Σ net(con children)`, a node re-entered during
//! its own computation contributing 0 (the prototype's cycle guard), with a memo that lives until
//! the next mutation. Under co-parenting most of a grown world is one strongly connected region,
//! so a memoised value depends on which node the walk entered first: the engine keeps the exact
//! call sequence and the walk order, and only makes each step cheap (generation-stamped memo, so
//! invalidating is O(1) and a fresh memo needs no allocation).

use super::world::{NodeIdx, World};

/// One node being summed: its next child, and the pro and con sums so far.
#[derive(Debug, Clone)]
struct Frame {
    node: NodeIdx,
    next: usize,
    pro_sum: f64,
    con_sum: f64,
}

/// The memo of net scores. A node is in progress when its mark is `epoch`, done (with `value`
/// valid) when it is `epoch + 1`, untouched otherwise; invalidating moves `epoch` on by 2.
#[derive(Debug, Clone)]
pub(crate) struct ScoreMemo {
    epoch: u64,
    mark: Vec<u64>,
    value: Vec<f64>,
    stack: Vec<Frame>,
    /// Whether the memo holds exactly what the last round's novelty update computed (no mutation
    /// and no outside read since): then a round with the same structure and the same posts would
    /// recompute the same values in the same order, and `apply_stakes` may keep it.
    pub(crate) reusable: bool,
}

impl Default for ScoreMemo {
    fn default() -> Self {
        ScoreMemo {
            epoch: 2,
            mark: Vec::new(),
            value: Vec::new(),
            stack: Vec::new(),
            reusable: false,
        }
    }
}

impl ScoreMemo {
    pub(crate) fn invalidate(&mut self) {
        self.epoch += 2;
        self.reusable = false;
    }
}

impl World {
    /// Net score of a node (see the module docs for the recursion and its cycle guard).
    pub fn net_score(&self, start: NodeIdx) -> f64 {
        // A read from outside the novelty update may fill the memo from another entry point.
        self.memo.borrow_mut().reusable = false;
        self.round_net_score(start)
    }

    /// [`World::net_score`] as the novelty update calls it (keeps the memo reusable).
    pub(crate) fn round_net_score(&self, start: NodeIdx) -> f64 {
        let mut guard = self.memo.borrow_mut();
        let memo = &mut *guard;
        let n = self.nodes.len();
        if memo.mark.len() < n {
            memo.mark.resize(n, 0);
            memo.value.resize(n, 0.0);
        }
        let (busy, done) = (memo.epoch, memo.epoch + 1);
        if memo.mark[start] == done {
            return memo.value[start];
        }
        // Iterative form of the recursion (trees can be thousands deep). A frame walks the pro
        // children, then the con children, summing left to right from 0 as Python's `sum` does.
        let mut stack = std::mem::take(&mut memo.stack);
        stack.clear();
        stack.push(Frame {
            node: start,
            next: 0,
            pro_sum: 0.0,
            con_sum: 0.0,
        });
        memo.mark[start] = busy;
        let mut returned: Option<f64> = None;
        while let Some(top) = stack.last_mut() {
            let node = &self.nodes[top.node];
            let n_pro = node.pro.len();
            if let Some(v) = returned.take() {
                if top.next - 1 < n_pro {
                    top.pro_sum += v;
                } else {
                    top.con_sum += v;
                }
            }
            if top.next < n_pro + node.con.len() {
                let child = if top.next < n_pro {
                    node.pro[top.next]
                } else {
                    node.con[top.next - n_pro]
                };
                top.next += 1;
                let m = memo.mark[child];
                if m == done {
                    returned = Some(memo.value[child]);
                } else if m == busy {
                    returned = Some(0.0);
                } else {
                    memo.mark[child] = busy;
                    stack.push(Frame {
                        node: child,
                        next: 0,
                        pro_sum: 0.0,
                        con_sum: 0.0,
                    });
                }
                continue;
            }
            let mut direct = 0.0;
            for s in &node.stakes {
                direct += s.weight;
            }
            let v = direct + top.pro_sum - top.con_sum;
            let idx = top.node;
            memo.value[idx] = v;
            memo.mark[idx] = done;
            stack.pop();
            returned = Some(v);
        }
        memo.stack = stack;
        returned.unwrap_or(0.0)
    }
}
