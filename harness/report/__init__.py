"""Reports of a run: HTML report, acceptance certificate, supplier comparison, clause matrix.

Everything here reads a run directory (`reports/<run-id>/`: timings.json, allure-results/,
junit.xml, transcripts/) and writes files; nothing here talks to a module or a rig.
"""
