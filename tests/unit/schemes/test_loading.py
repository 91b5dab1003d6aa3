"""Scheme files: safe YAML, validation, and messages that name the file, the line and the field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gpscale.evaluate.schemes import SchemeError, load_scheme, parse_scheme_text
from gpscale.evaluate.schemes.loading import MAX_BYTES, check_against_definitions, read_scheme_file
from gpscale.indicators.library import load_definitions

GOOD = """\
id: my_scheme
title: My scheme
period: FY2022/23
membership: cohort:2022-04-01
contract: {per_network: 50000}
point_value: {amount: "198.00", list_size_reference: mean}
exceptions: {min_list_size: 1000, new_practice_months: 12, missing_data: fail}
indicators:
  - indicator: qof_total
    target: {type: network_standard, standard: 96.1}
    reward: {contract_share: 0.3}
  - indicator: rx_broad_spectrum
    target: {type: thresholds, lower: 11, upper: 8}
    reward: {points: 20}
  - indicator: gpps_overall_good
    target: {type: practice_share, standard: 80, share: 0.75}
    reward: {amount: 1000.5}
  - indicator: rx_broad_spectrum
    id: broad_spectrum_down
    target: {type: improvement, by: 0.5, baseline: FY2020/21}
    reward: {amount: "250"}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SchemeError) as exc:
        parse_scheme_text(text, "s.yaml")
    return [str(p) for p in exc.value.problems]


def test_a_good_scheme_reads_numbers_through_their_decimal_text(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    s = load_scheme(path)
    assert s.view.label == "cohort:2022-04-01"
    assert s.indicators[0].target.standard == Decimal("96.1")  # not 96.099999999999994315658...
    assert s.indicators[2].reward.amount == Decimal("1000.5")
    assert s.point_value.amount == Decimal("198.00")
    assert [e.target_id for e in s.indicators] == ["qof_total", "rx_broad_spectrum", "gpps_overall_good",
                                                   "broad_spectrum_down"]


def test_field_errors_name_the_line_and_the_field_as_written():
    text = GOOD.replace("lower: 11, upper: 8", "lower: 8, upper: 8").replace("share: 0.75", "share: 1.5")
    got = problems(text)
    assert any(p.startswith("s.yaml:13: indicators[1].target:") and "must differ" in p for p in got)
    assert any(p.startswith("s.yaml:16: indicators[2].target.share:") and "less than or equal to 1" in p
               for p in got)


def test_money_has_at_most_two_decimal_places_and_one_reward():
    got = problems(GOOD.replace('amount: "198.00"', "amount: 198.005").replace("reward: {amount: \"250\"}",
                                                                             "reward: {amount: 1, points: 2}"))
    assert any("s.yaml:6: point_value.amount: 198.005 has more than two decimal places" in p for p in got)
    assert any(p.startswith("s.yaml:21: indicators[3].reward:") and "exactly one of" in p for p in got)


@pytest.mark.parametrize(("change", "message"), [
    (("period: FY2022/23", "period: 2022-05"), "period '2022-05' must be a financial year"),
    (("membership: cohort:2022-04-01", "membership: sometimes"), "view 'sometimes' is not as-was"),
    (('reward: {amount: "250"}', "reward: {contract_share: 0.8}"), "the contract shares add up to 1.1"),
    (("type: network_standard", "type: standard"), "does not match any of the expected tags"),
    (("baseline: FY2020/21", "baseline: FY2023/24"), "must be before the scheme period FY2022/23"),
    (("    id: broad_spectrum_down\n", ""), "target id 'rx_broad_spectrum' repeats indicators[1]"),
])
def test_model_rules(change, message):
    got = problems(GOOD.replace(*change))
    assert any(message in p for p in got), got


def test_points_need_a_point_value_and_shares_a_contract():
    text = GOOD.replace('point_value: {amount: "198.00", list_size_reference: mean}\n', "").replace(
        "contract: {per_network: 50000}\n", "")
    got = problems(text)
    assert any("point_value is required" in p for p in got)


def test_aliases_duplicate_keys_and_syntax_errors_are_refused_with_their_line():
    alias = GOOD + "  - indicator: qof_total\n    id: again\n    target: &t {type: improvement, by: 1}\n" \
                   "    reward: *t\n"
    assert any(p.startswith("s.yaml:25: (yaml):") and "aliases" in p for p in problems(alias))
    dup = GOOD.replace("title: My scheme\n", "title: My scheme\ntitle: Again\n")
    assert any(p.startswith("s.yaml:3: (yaml):") and "key 'title' is given twice" in p for p in problems(dup))
    broken = GOOD.replace("reward: {points: 20}", "reward: {points: 20")
    assert any(p.startswith("s.yaml:") and "not valid YAML" in p for p in problems(broken))
    assert problems("- just\n- a list\n") == ["s.yaml:1: (top level): a scheme is a YAML mapping (id, title, "
                                             "period, indicators...)"]


def test_size_limit(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * MAX_BYTES + "\n")
    with pytest.raises(SchemeError, match="larger than"):
        read_scheme_file(big)
    with pytest.raises(SchemeError, match="cannot read"):
        read_scheme_file(tmp_path / "absent.yaml")


def test_checks_against_the_indicator_definitions_name_lines(tmp_path):
    text = GOOD.replace("indicator: qof_total", "indicator: qof_totl").replace(
        "lower: 11, upper: 8", "lower: 8, upper: 11").replace("standard: 80", "standard: 180") + (
        "  - indicator: hosp_outpatient_first\n    target: {type: network_standard, standard: 100}\n"
        "    reward: {amount: 1}\n")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SchemeError) as exc:
        load_scheme(path)
    got = [str(p) for p in exc.value.problems]
    assert got[0].startswith(f"{path}:9: indicators[0].indicator: unknown indicator 'qof_totl'")
    assert got[1].startswith(f"{path}:13: indicators[1].target.upper: rx_broad_spectrum is low_is_good")
    assert got[2].startswith(f"{path}:16: indicators[2].target.standard: 180 is outside the range of "
                             "gpps_overall_good (0 to 100 ")
    assert got[3].startswith(f"{path}:22: indicators[4].indicator: hosp_outpatient_first has no polarity")


def test_user_defined_indicators_are_accepted(tmp_path):
    defs = dict(load_definitions())
    mine = defs["qof_total"].model_copy(update={"id": "my_qof"})
    scheme = parse_scheme_text(GOOD.replace("indicator: qof_total", "indicator: my_qof"), "s.yaml")
    check_against_definitions(scheme, {**defs, "my_qof": mine}, "s.yaml")
    with pytest.raises(SchemeError, match="unknown indicator 'my_qof'"):
        check_against_definitions(scheme, defs, "s.yaml")
