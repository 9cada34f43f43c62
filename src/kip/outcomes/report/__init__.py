"""`kip report`: Tables 1-6 counted in the engine after filters, rendered for people and tools.

- `filters`: the date / site / etiology filters, applied in the engine (docs/report.md).
- `model`: `Report` (the filtered tables and what they were counted on) and `build_report`.
- `cell_text`, `odds`: how a cell reads; odds ratios of response per adjuvant class.
- `layout`: a table as the paper prints it (section headings, the denominator named once).
- `figures`: the matplotlib figures.
- `render_terminal`, `render_markdown`, `render_html`, `render_csv`, `render_xlsx`,
  `render_pdf`: one output format each.

Nothing is imported here: matplotlib and fpdf2 load only for the formats that draw.
"""
