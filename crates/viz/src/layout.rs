//! Antorcha's own drawing of a [`Dot`] as SVG, for machines without Graphviz: a layered layout
//! (ranks by longest path to the output, barycentre ordering), boxes with monospace text in
//! torchviz's colours, straight edges with arrowheads.

use std::fmt::Write as _;

use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use crate::dot::Dot;

/// Width of one character of 10 pt monospace text.
const CHAR_W: f64 = 6.0;
/// Height of one line of text.
const LINE_H: f64 = 11.0;
const PAD_X: f64 = 8.0;
const PAD_Y: f64 = 4.0;
const MIN_W: f64 = 54.0;
const MIN_H: f64 = 19.0;
/// Horizontal space between boxes of one rank.
const GAP_X: f64 = 18.0;
/// Vertical space between ranks.
const GAP_Y: f64 = 36.0;
const MARGIN: f64 = 8.0;

struct Placed {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

/// Ranks: 0 for the nodes nothing consumes (the outputs), else one more than the highest rank
/// of what the node feeds. A node that only receives edges (a saved tensor) sits one rank
/// below its lowest neighbour, beside the op that saved it, as Graphviz puts it.
fn ranks(dot: &Dot) -> Vec<usize> {
    let g = &dot.graph;
    let n = g.node_count();
    let mut out_deg: Vec<usize> = (0..n)
        .map(|i| {
            g.edges_directed(NodeIndex::new(i), Direction::Outgoing)
                .count()
        })
        .collect();
    let sinks: Vec<bool> = out_deg.iter().map(|&d| d == 0).collect();
    let mut rank = vec![0usize; n];
    let mut queue: Vec<usize> = (0..n).filter(|&i| out_deg[i] == 0).collect();
    while let Some(v) = queue.pop() {
        for e in g.edges_directed(NodeIndex::new(v), Direction::Incoming) {
            let u = e.source().index();
            rank[u] = rank[u].max(rank[v] + 1);
            out_deg[u] -= 1;
            if out_deg[u] == 0 {
                queue.push(u);
            }
        }
    }
    for v in 0..n {
        if sinks[v] {
            let lowest_pred = g
                .edges_directed(NodeIndex::new(v), Direction::Incoming)
                .map(|e| rank[e.source().index()])
                .min();
            if let Some(r) = lowest_pred {
                rank[v] = r.saturating_sub(1);
            }
        }
    }
    rank
}

/// Node centres and sizes.
fn layout(dot: &Dot) -> (Vec<Placed>, f64, f64) {
    let g = &dot.graph;
    let n = g.node_count();
    let mut placed: Vec<Placed> = g
        .node_weights()
        .map(|node| {
            let lines = node.label.split('\n').count() as f64;
            let chars = node
                .label
                .split('\n')
                .map(|l| l.chars().count())
                .max()
                .unwrap_or(0) as f64;
            Placed {
                x: 0.0,
                y: 0.0,
                w: (chars * CHAR_W + 2.0 * PAD_X).max(MIN_W),
                h: (lines * LINE_H + 2.0 * PAD_Y).max(MIN_H),
            }
        })
        .collect();
    if n == 0 {
        return (placed, 2.0 * MARGIN, 2.0 * MARGIN);
    }
    let rank = ranks(dot);
    let max_rank = rank.iter().copied().max().unwrap_or(0);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); max_rank + 1];
    let mut by_order: Vec<usize> = (0..n).collect();
    by_order.sort_by_key(|&i| (g[NodeIndex::new(i)].order, i));
    for i in by_order {
        layers[rank[i]].push(i);
    }

    // Neighbours above (higher rank) and below (lower rank) of each node.
    let mut upper: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut lower: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in g.edge_references() {
        let (a, b) = (e.source().index(), e.target().index());
        if rank[a] > rank[b] {
            upper[b].push(a);
            lower[a].push(b);
        } else if rank[b] > rank[a] {
            upper[a].push(b);
            lower[b].push(a);
        }
    }

    // Order within ranks: barycentre sweeps, down then up.
    let mut pos = vec![0.0f64; n];
    let set_pos = |layers: &Vec<Vec<usize>>, pos: &mut Vec<f64>| {
        for layer in layers {
            for (k, &v) in layer.iter().enumerate() {
                pos[v] = k as f64;
            }
        }
    };
    set_pos(&layers, &mut pos);
    for _ in 0..2 {
        for layer in layers[..max_rank].iter_mut().rev() {
            reorder(layer, &upper, &mut pos);
        }
        for layer in layers[1..].iter_mut() {
            reorder(layer, &lower, &mut pos);
        }
    }

    // x: rank 0 packed and centred on 0; each rank above centred over what it feeds; then the
    // nodes fed by nothing below them (saved tensors) move under the op that saved them.
    for layer in &layers {
        let desired: Vec<f64> = layer
            .iter()
            .map(|&v| mean_x(&lower[v], &placed).unwrap_or(f64::NAN))
            .collect();
        place_layer(layer, &desired, &mut placed, true);
    }
    for layer in layers[..max_rank].iter().rev() {
        let desired: Vec<f64> = layer
            .iter()
            .map(|&v| {
                if lower[v].is_empty() {
                    mean_x(&upper[v], &placed).unwrap_or(placed[v].x)
                } else {
                    placed[v].x
                }
            })
            .collect();
        place_layer(layer, &desired, &mut placed, false);
    }

    // y: the highest rank at the top.
    let mut y = MARGIN;
    for layer in layers.iter().rev() {
        let h = layer.iter().map(|&v| placed[v].h).fold(0.0, f64::max);
        for &v in layer {
            placed[v].y = y + h / 2.0;
        }
        y += h + GAP_Y;
    }
    let height = y - GAP_Y + MARGIN;
    let left = placed
        .iter()
        .map(|p| p.x - p.w / 2.0)
        .fold(f64::INFINITY, f64::min);
    for p in &mut placed {
        p.x += MARGIN - left;
    }
    let width = placed.iter().map(|p| p.x + p.w / 2.0).fold(0.0, f64::max) + MARGIN;
    (placed, width, height)
}

fn mean_x(nodes: &[usize], placed: &[Placed]) -> Option<f64> {
    if nodes.is_empty() {
        None
    } else {
        Some(nodes.iter().map(|&u| placed[u].x).sum::<f64>() / nodes.len() as f64)
    }
}

/// Sorts a layer by the mean position of each node's neighbours in `adj` (nodes without any
/// keep their place), then renumbers positions.
fn reorder(layer: &mut [usize], adj: &[Vec<usize>], pos: &mut [f64]) {
    let keys: Vec<(f64, usize)> = layer
        .iter()
        .map(|&v| {
            let b = if adj[v].is_empty() {
                pos[v]
            } else {
                adj[v].iter().map(|&u| pos[u]).sum::<f64>() / adj[v].len() as f64
            };
            (b, v)
        })
        .collect();
    let mut keyed: Vec<(f64, f64, usize)> = keys.iter().map(|&(b, v)| (b, pos[v], v)).collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    for (k, &(_, _, v)) in keyed.iter().enumerate() {
        layer[k] = v;
        pos[v] = k as f64;
    }
}

/// Places a layer's nodes left to right at their desired centres (NaN: right after the
/// previous one) without overlaps; `recentre` shifts the layer so that it sits on its desired
/// centres on average (centred on 0 when none is wanted).
fn place_layer(layer: &[usize], desired: &[f64], placed: &mut [Placed], recentre: bool) {
    let mut prev_right = f64::NEG_INFINITY;
    for (k, &v) in layer.iter().enumerate() {
        let half = placed[v].w / 2.0;
        let min_x = prev_right + GAP_X + half;
        let want = if desired[k].is_nan() {
            min_x
        } else {
            desired[k]
        };
        let x = if want.is_finite() {
            want.max(min_x)
        } else {
            half
        };
        placed[v].x = x;
        prev_right = x + half;
    }
    if !recentre {
        return;
    }
    let wanted: Vec<(f64, f64)> = layer
        .iter()
        .zip(desired)
        .filter(|(_, d)| !d.is_nan())
        .map(|(&v, &d)| (d, placed[v].x))
        .collect();
    let shift = if wanted.is_empty() {
        let left = layer
            .first()
            .map_or(0.0, |&v| placed[v].x - placed[v].w / 2.0);
        -(left + prev_right) / 2.0
    } else {
        wanted.iter().map(|(d, x)| d - x).sum::<f64>() / wanted.len() as f64
    };
    for &v in layer {
        placed[v].x += shift;
    }
}

/// SVG colour of a Graphviz fill colour: torchviz's X11 names mapped to hex; Graphviz's
/// default fill for `style=filled` is light grey.
fn svg_color(fill: Option<&str>) -> String {
    match fill {
        None => "lightgrey".to_string(),
        Some("darkolivegreen1") => "#caff70".to_string(),
        Some("darkolivegreen3") => "#a2cd5a".to_string(),
        Some(c) if c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '#') => c.to_string(),
        Some(_) => "lightgrey".to_string(),
    }
}

/// XML text with spaces kept (as `&#160;`, the way Graphviz writes them).
fn xml_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            ' ' => out.push_str("&#160;"),
            c if (c as u32) < 0x20 && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// Where a straight edge from box `a` to box `b` leaves and enters their borders.
fn endpoints(a: &Placed, b: &Placed) -> (f64, f64, f64, f64) {
    if a.y + a.h / 2.0 <= b.y - b.h / 2.0 {
        (a.x, a.y + a.h / 2.0, b.x, b.y - b.h / 2.0)
    } else if b.y + b.h / 2.0 <= a.y - a.h / 2.0 {
        (a.x, a.y - a.h / 2.0, b.x, b.y + b.h / 2.0)
    } else if a.x <= b.x {
        (a.x + a.w / 2.0, a.y, b.x - b.w / 2.0, b.y)
    } else {
        (a.x - a.w / 2.0, a.y, b.x + b.w / 2.0, b.y)
    }
}

/// The SVG picture: one `<g class="node">` per node and one `<g class="edge">` per edge.
pub(crate) fn render_svg(dot: &Dot) -> String {
    let g = &dot.graph;
    let (placed, width, height) = layout(dot);
    let mut s = String::with_capacity(400 * (g.node_count() + 1) + 200 * g.edge_count());
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n\
         <!-- Drawn by antorcha-viz's own layout -->\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}pt\" height=\"{height:.0}pt\" viewBox=\"0 0 {width:.2} {height:.2}\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"black\"/></marker></defs>\n\
         <g id=\"graph0\" class=\"graph\">\n\
         <rect x=\"0\" y=\"0\" width=\"{width:.2}\" height=\"{height:.2}\" fill=\"white\"/>\n"
    );
    for (k, e) in g.edge_references().enumerate() {
        let (a, b) = (e.source(), e.target());
        let (x1, y1, x2, y2) = endpoints(&placed[a.index()], &placed[b.index()]);
        let _ = writeln!(
            s,
            "<g id=\"edge{}\" class=\"edge\"><title>{}&#45;&gt;{}</title><path fill=\"none\" stroke=\"black\" d=\"M{x1:.2},{y1:.2} L{x2:.2},{y2:.2}\"{}/></g>",
            k + 1,
            g[a].id,
            g[b].id,
            if e.weight().dir_none { "" } else { " marker-end=\"url(#arrow)\"" }
        );
    }
    for (k, ix) in g.node_indices().enumerate() {
        let node = &g[ix];
        let p = &placed[ix.index()];
        let _ = write!(
            s,
            "<g id=\"node{}\" class=\"node\"><title>{}</title><rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{}\" stroke=\"black\"/>",
            k + 1,
            node.id,
            p.x - p.w / 2.0,
            p.y - p.h / 2.0,
            p.w,
            p.h,
            svg_color(node.fillcolor.as_deref()),
        );
        let lines: Vec<&str> = node.label.split('\n').collect();
        let top = p.y - lines.len() as f64 * LINE_H / 2.0;
        for (i, line) in lines.iter().enumerate() {
            if line.is_empty() {
                continue;
            }
            let baseline = top + (i as f64 + 1.0) * LINE_H - 2.5;
            let _ = write!(
                s,
                "<text text-anchor=\"middle\" x=\"{:.2}\" y=\"{baseline:.2}\" font-family=\"monospace\" font-size=\"10.00\">",
                p.x
            );
            xml_text(line, &mut s);
            s.push_str("</text>");
        }
        s.push_str("</g>\n");
    }
    s.push_str("</g>\n</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{make_dot, DotOptions, NodeKind};
    use antorcha_autograd::Var;

    fn placed_by_kind(dot: &Dot, kind: NodeKind) -> Vec<usize> {
        dot.graph
            .node_indices()
            .filter(|&i| dot.graph[i].kind == kind)
            .map(|i| i.index())
            .collect()
    }

    #[test]
    fn leaves_are_above_the_output_and_boxes_do_not_overlap() {
        let a = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
        let b = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
        let x = Var::from_vec(vec![1.0f32; 8], &[8, 1]);
        let loss = (&a + &b * &x).powf(2.0).mean();
        let dot = make_dot(
            &loss,
            &[("a", &a), ("b", &b)],
            &DotOptions::new().show_saved(true),
        );
        let (placed, w, h) = layout(&dot);
        let out = placed_by_kind(&dot, NodeKind::Output)[0];
        for leaf in placed_by_kind(&dot, NodeKind::Leaf) {
            assert!(placed[leaf].y < placed[out].y);
        }
        for (i, p) in placed.iter().enumerate() {
            assert!(p.x - p.w / 2.0 >= 0.0 && p.x + p.w / 2.0 <= w && p.y + p.h / 2.0 <= h);
            for q in &placed[i + 1..] {
                let apart_x = (p.x - q.x).abs() >= (p.w + q.w) / 2.0;
                let apart_y = (p.y - q.y).abs() >= (p.h + q.h) / 2.0;
                assert!(apart_x || apart_y, "boxes overlap");
            }
        }
        // every edge from an input goes down the page, to the node that uses it
        for e in dot.graph.edge_references() {
            if !e.weight().dir_none {
                assert!(placed[e.source().index()].y < placed[e.target().index()].y);
            }
        }
        // the saved tensor sits one rank below the op that saved it
        let r = ranks(&dot);
        for e in dot.graph.edge_references().filter(|e| e.weight().dir_none) {
            assert_eq!(r[e.source().index()], r[e.target().index()] + 1);
        }
    }

    #[test]
    fn colours_and_text_escape() {
        assert_eq!(svg_color(None), "lightgrey");
        assert_eq!(svg_color(Some("darkolivegreen1")), "#caff70");
        assert_eq!(svg_color(Some("lightblue")), "lightblue");
        assert_eq!(svg_color(Some("x\" onload=\"y")), "lightgrey");
        let mut s = String::new();
        xml_text("a <b> & \"c\"", &mut s);
        assert_eq!(s, "a&#160;&lt;b&gt;&#160;&amp;&#160;&quot;c&quot;");
    }

    #[test]
    fn empty_graph_draws_an_empty_picture() {
        let mut dot = make_dot(&Var::<f32>::scalar(1.0), &[], &DotOptions::default());
        dot.graph.clear();
        let svg = render_svg(&dot);
        assert!(svg.contains("<svg") && !svg.contains("class=\"node\""));
    }
}
