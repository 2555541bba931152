"""Template (考核方案) validation: a bad template is refused with every reason and writes nothing."""

from __future__ import annotations

import pytest
from django_scopes import scope

from indicators.models import Template
from indicators.services import TemplateRejected, build_template, create_indicator

COMPLETION = {"cap_rate": "1.2"}


@pytest.fixture
def catalogue(world_a):
    with scope(organization=world_a.org):
        for code, method, config in [
            ("OUT", "completion", COMPLETION),
            ("COST", "completion", COMPLETION),
            ("SAFE", "deduction", {"items": [{"code": "late", "name": "迟到", "points": "2"}], "floor": None}),
            ("ATT", "rating", {"unit": "share", "scale": [{"label": "优秀", "share": "1"},
                                                          {"label": "合格", "share": "0.6"}]}),
        ]:
            create_indicator(organization=world_a.org, acting_user=None, code=code, name=code, method=method,
                             config=config)
    return world_a


def _spec(**overrides):
    spec = {
        "code": "T1", "name": "员工月度考核", "subject_kind": "person",
        "parts": [
            {"code": "kpi", "name": "指标", "weight": "0.7", "full_marks": "100",
             "lines": [{"indicator": "OUT", "max_points": "60"}, {"indicator": "COST", "max_points": "40"}]},
            {"code": "conduct", "name": "行为", "weight": "0.3", "full_marks": "100",
             "lines": [{"indicator": "ATT", "max_points": "100", "source": "raters"}]},
        ],
        "raters": [{"role": "self", "weight": "0.2", "missing_counts_as_zero": True},
                   {"role": "supervisor", "weight": "0.8"}],
    }
    spec.update(overrides)
    return spec


def _refused(world, spec) -> list[str]:
    with scope(organization=world.org):
        with pytest.raises(TemplateRejected) as caught:
            build_template(organization=world.org, acting_user=None, spec=spec)
        assert not Template.objects.exists()
    return caught.value.problems


def test_it_builds_a_valid_template_with_parts_lines_and_raters(catalogue):
    with scope(organization=catalogue.org):
        template = build_template(organization=catalogue.org, acting_user=None, spec=_spec())
        assert [p.code for p in template.parts.all()] == ["kpi", "conduct"]
        assert template.raters.count() == 2


def test_it_makes_a_new_version_when_the_code_exists(catalogue):
    with scope(organization=catalogue.org):
        build_template(organization=catalogue.org, acting_user=None, spec=_spec())
        second = build_template(organization=catalogue.org, acting_user=None, spec=_spec())
        assert second.version == 2


def test_it_refuses_part_weights_that_do_not_add_up(catalogue):
    spec = _spec()
    spec["parts"][1]["weight"] = "0.2"
    assert any("0.9" in p and "权重合计" in p for p in _refused(catalogue, spec))


def test_it_refuses_lines_that_do_not_add_up_to_the_part(catalogue):
    spec = _spec()
    spec["parts"][0]["lines"][1]["max_points"] = "30"
    assert any("kpi" in p and "90" in p for p in _refused(catalogue, spec))


def test_it_refuses_rater_weights_that_do_not_add_up(catalogue):
    spec = _spec(raters=[{"role": "self", "weight": "0.3"}, {"role": "supervisor", "weight": "0.8"}])
    assert any("1.1" in p for p in _refused(catalogue, spec))


def test_it_refuses_rated_lines_without_raters(catalogue):
    assert any("未指定评分人" in p for p in _refused(catalogue, _spec(raters=[])))


def test_it_refuses_self_assessment_of_a_department(catalogue):
    spec = _spec(subject_kind="department")
    assert any("自评" in p for p in _refused(catalogue, spec))


def test_it_refuses_an_unknown_indicator_naming_it(catalogue):
    spec = _spec()
    spec["parts"][0]["lines"][0]["indicator"] = "NOPE"
    assert any("NOPE" in p for p in _refused(catalogue, spec))


def test_it_refuses_a_bad_line_configuration_naming_the_field(catalogue):
    spec = _spec()
    spec["parts"][0]["lines"][0]["config"] = {"cap_rate": "abc"}
    assert any("OUT" in p and "cap_rate" in p for p in _refused(catalogue, spec))


def test_it_reports_every_problem_at_once(catalogue):
    spec = _spec(raters=[])
    spec["parts"][1]["weight"] = "0.5"
    assert len(_refused(catalogue, spec)) >= 2


def test_it_refuses_an_indicator_with_a_bad_configuration(world_a):
    from django.core.exceptions import ValidationError

    with scope(organization=world_a.org), pytest.raises(ValidationError, match="cap_rate"):
        create_indicator(organization=world_a.org, acting_user=None, code="X", name="X", method="completion",
                         config={"cap_rate": 1.2})  # a float: refused, money and points are Decimal
