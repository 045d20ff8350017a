#!/usr/bin/env python3
"""Parses an HTML report qforge wrote (run folder report.html, ptq --report) as XML — which fails
on any unclosed or misnested element — and prints what it draws as one JSON object:
{"svgs": [{"title": ..., "series": {name: points}, "markers": [[label, x]], "tags": [name],
"bars": n}], ...}.
Used by tests/launch/metrics_schema_test.cpp; exit code 1 with a message when the page is not
well-formed or an SVG lacks its title."""
import json
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def summary(path):
    root = ET.parse(path).getroot()
    svgs = []
    for svg in root.iter(SVG + "svg"):
        title = svg.find(SVG + "text[@class='title']")
        if title is None or not (title.text or "").strip():
            sys.exit(f"report_summary: {path}: an svg without a title")
        series = {}
        for line in svg.iter(SVG + "polyline"):
            if line.get("class") == "series":
                points = line.get("points").split()
                name = line.get("data-series")
                series[name] = series.get(name, 0) + len(points)
        for dot in svg.iter(SVG + "circle"):
            if dot.get("class") == "point":
                series[dot.get("data-series")] = series.get(dot.get("data-series"), 0) + 1
        markers = [[m.get("data-label"), float(m.get("data-x"))] for m in svg.iter(SVG + "line")
                   if m.get("class") == "marker"]
        tags = [t.text for t in svg.iter(SVG + "text") if t.get("class") == "tag"]
        bars = sum(1 for r in svg.iter(SVG + "rect") if r.get("class") == "bar")
        svgs.append({"title": title.text, "series": series, "markers": markers, "tags": tags,
                     "bars": bars})
    return {"svgs": svgs, "tables": sum(1 for _ in root.iter("{http://www.w3.org/1999/xhtml}table"))}


if __name__ == "__main__":
    try:
        print(json.dumps(summary(sys.argv[1])))
    except ET.ParseError as e:
        sys.exit(f"report_summary: {sys.argv[1]}: not well-formed: {e}")
