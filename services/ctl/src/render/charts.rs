//! The document's charts, drawn by plotters' SVG backend into strings that
//! the HTML embeds inline (no files, no network, no fonts to load).

use plotters::prelude::*;

const BAR: RGBColor = RGBColor(0x1f, 0x5f, 0x9f);
const LINE: RGBColor = RGBColor(0xc0, 0x39, 0x2b);

/// Horizontal bars, one per item, the first on top.
pub fn bars(title: &str, items: &[(String, f64)]) -> anyhow::Result<String> {
    let mut svg = String::new();
    let rows = items.len().max(1);
    let height = 60 + 26 * rows as u32;
    {
        let root = SVGBackend::with_string(&mut svg, (640, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let max = items.iter().map(|i| i.1).fold(0.0, f64::max).max(1.0);
        // Row i sits at y = rows - 1 - i (first on top), on an integer tick.
        let top = rows as f64 - 0.5;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(8)
            .margin_right(24)
            .x_label_area_size(24)
            .y_label_area_size(170)
            .build_cartesian_2d(0.0..max * 1.08, -0.5..top)?;
        let label = |y: &f64| {
            let at = y.round();
            if (at - y).abs() > 1e-6 || at < 0.0 {
                return String::new();
            }
            rows.checked_sub(1 + at as usize)
                .and_then(|i| items.get(i))
                .map(|x| x.0.clone())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(rows + 1)
            .y_label_formatter(&label)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        chart.draw_series(items.iter().enumerate().map(|(i, (_, v))| {
            let y = (rows - 1 - i) as f64;
            Rectangle::new([(0.0, y - 0.38), (*v, y + 0.38)], BAR.filled())
        }))?;
        root.present()?;
    }
    Ok(svg)
}

/// One line over labelled points (e.g. months).
pub fn line(title: &str, points: &[(String, f64)]) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 300)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = points.len().max(1);
        let max = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(8)
            .margin_right(36)
            .x_label_area_size(28)
            .y_label_area_size(64)
            .build_cartesian_2d(0..n - 1, 0.0..max * 1.1)?;
        let label = |i: &usize| points.get(*i).map(|p| p.0.clone()).unwrap_or_default();
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_labels(n)
            .x_label_formatter(&label)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        chart.draw_series(LineSeries::new(
            points.iter().enumerate().map(|(i, p)| (i, p.1)),
            LINE.stroke_width(3),
        ))?;
        chart.draw_series(
            points
                .iter()
                .enumerate()
                .map(|(i, p)| Circle::new((i, p.1), 4, LINE.filled())),
        )?;
        root.present()?;
    }
    Ok(svg)
}
