"""Alerts in a real browser, in French and English: the feed with the demo's planted cluster of water leaks, an
alert's map and why it fired, the cluster on the reports map, a sensor alert's chart, and an administrator (staff)
marking the cluster a false alarm, which the detectors' record then counts. The pages say when they have drawn
(data-ready attributes)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from citoyen.demo.common import ADMIN_ACCOUNT

pytestmark = pytest.mark.e2e

NewPage = Callable[[str], Page]

expect.set_options(timeout=15_000)


def test_the_feed_a_cluster_and_a_sensor_alert_in_french(new_page: NewPage) -> None:
    page = new_page("fr-FR")
    page.goto("/alerts")
    expect(page.get_by_role("heading", name="Alertes\u00a0: ce qui semble inhabituel")).to_be_visible()
    expect(page.locator("[data-simulated]")).to_contain_text("planté")
    expect(page.locator("[data-last-run]")).to_contain_text("séries jugées")

    page.locator("#filter-kind").select_option("report_cluster")
    page.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"kind=report_cluster"))
    cluster = page.locator("li[data-alert]").first
    expect(cluster).to_contain_text("Foyer de signalements")
    expect(cluster).to_contain_text("Fuite d'eau")
    cluster.locator("a").first.click()
    expect(page.get_by_role("heading", name="Pourquoi elle s’est déclenchée")).to_be_visible()
    expect(page.locator("[data-why]")).to_contain_text("signalements à moins de")
    expect(page.locator("#alert-map")).to_have_attribute("data-ready", "drawn")
    expect(page.get_by_role("link", name=re.compile(r"^Signalement n°"))).not_to_have_count(0)

    # The same cluster on the reports map: an orange circle (before the other test calls it a false alarm).
    page.goto("/reports")
    expect(page.locator("[data-clusters-for='reports-map']")).to_have_attribute("data-clusters", re.compile(r"^[1-9]"))
    expect(page.locator("#reports-map path.leaflet-interactive[stroke='#d94801']")).not_to_have_count(0)

    page.goto("/alerts?kind=sensor")
    sensor = page.locator("li[data-alert] a").first
    sensor.click()
    expect(page.locator("#alert-chart")).to_have_attribute("data-ready", "drawn")
    expect(page.locator("#alert-chart .u-legend")).to_contain_text("Plage habituelle")


def test_an_administrator_marks_the_cluster_a_false_alarm_in_english(new_page: NewPage) -> None:
    page = new_page("en-GB")
    page.goto("/alerts?kind=report_cluster")
    link = page.locator("li[data-alert] a").first
    expect(link).to_contain_text("Cluster of reports")
    href = link.get_attribute("href") or ""
    expect(page.get_by_role("heading", name="How reliable is each detector?")).to_be_visible()
    expect(page.locator("form[action$='/mark']")).to_have_count(0)

    page.goto("/login?next=" + href)
    page.locator("#email").fill(ADMIN_ACCOUNT.email)
    page.locator("#password").fill(ADMIN_ACCOUNT.password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.goto(href)
    expect(page.get_by_role("heading", name="Staff: what is it?")).to_be_visible()
    page.get_by_role("button", name="False alarm").click()
    expect(page.locator("[data-alert-status]")).to_have_attribute("data-alert-status", "false_alarm")
    expect(page.locator("p.flash").first).to_contain_text("false alarm")

    page.goto("/alerts")
    record = page.locator("tr[data-detector='space-time-scan'] [data-false-alarms]")
    expect(record).not_to_have_text("0")
