"""The ceremony registry: comparison with the next script and token, loading, prefill, writing."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from sealroom.ceremony.loader import lint_findings, load_script
from sealroom.ceremony.registry import (
    REGISTRY_FORMAT,
    Registry,
    RegistryBag,
    RegistryCeremony,
    RegistryDevice,
    RegistryError,
    RegistryKey,
    RegistryMismatch,
    RegistryShareHolder,
    RegistryShareSet,
    compare_registry,
    expected_bag_in,
    load_registry,
    registry_key_mismatch,
)
from sealroom.ceremony.script import Script
from sealroom.ceremony.source import read_source
from sealroom.errors import OutputExistsError
from sealroom.evidence.registry import prefill_script, registry_bytes, write_registry
from sealroom.evidence.registry_cli import add_registry_parser

REPO = Path(__file__).resolve().parents[2]
SUB_SCRIPT = REPO / "ceremony_scripts" / "subordinate-ca-signing.yaml"
INIT_SCRIPT = REPO / "ceremony_scripts" / "hsm-initialisation.yaml"
TOKEN = "81e8407cf3870837"
ROOT_SPKI = "98f1309e1aa9f3f5c073eb106e08680da189407728144fb9141093a8256a0afc"
ROOT_ID = "61d4e973e5e0e58a2d6a17affdd67a58"
ROOT_LABEL = "exr-root-r1-2026"


def _ceremony() -> RegistryCeremony:
    return RegistryCeremony(
        id="EXR-RKG-2026-11",
        type="root-key-generation",
        title="Example Root CA R1 - root key generation",
        date=date(2026, 11, 21),
        journal_final_sha256="ab" * 32,
        journal_entries=43,
        script_sha256="cd" * 32,
        rehearsal=False,
    )


def _registry(**changes: object) -> Registry:
    """A registry matching the subordinate-ca-signing script's materials and root key."""
    values: dict[str, object] = {
        "sealroom_registry": REGISTRY_FORMAT,
        "ceremony": _ceremony(),
        "devices": (
            RegistryDevice(
                material="hsm",
                kind="hsm",
                description="Hardware security module",
                model="ExampleHSM 9000 (PCIe)",
                serial="HSM-0001",
                token_label="exr-root-r1",
                token_serial=TOKEN,
            ),
            RegistryDevice(
                material="workstation",
                kind="workstation",
                description="Sealroom air-gapped workstation",
                model="Sealroom live image",
                serial="WS-0007",
            ),
        ),
        "bags": (
            RegistryBag(
                item="hsm",
                item_kind="material",
                serial="TEB-210101",
                holder="bob",
                location="Safe S1",
                seq=31,
            ),
            RegistryBag(item="workstation", item_kind="material", serial="TEB-210102", seq=39),
        ),
        "keys": (
            RegistryKey(
                hsm_serial=TOKEN,
                label=ROOT_LABEL,
                cka_id=ROOT_ID,
                algorithm="rsa-4096",
                spki_sha256=ROOT_SPKI,
                purpose=("certificate-signing", "crl-signing"),
                state="present",
                key_id="root-key",
                seq=20,
            ),
        ),
    }
    values.update(changes)
    return Registry.model_validate(values)


@pytest.fixture(scope="module")
def sub_script() -> Script:
    return load_script(SUB_SCRIPT).script


@pytest.fixture(scope="module")
def init_script() -> Script:
    return load_script(INIT_SCRIPT).script


ROOT_ON_TOKEN = [(ROOT_LABEL, ROOT_ID, ROOT_SPKI), (ROOT_LABEL, ROOT_ID, None)]


def _compare(
    registry: Registry,
    script: Script,
    token_serial: str | None = TOKEN,
    keys: list[tuple[str, str, str | None]] | None = None,
) -> tuple[RegistryMismatch, ...]:
    return compare_registry(
        registry,
        script,
        token_serial=token_serial,
        token_keys=ROOT_ON_TOKEN if keys is None else keys,
    )


# ------------------------------------------------------------------------------------ compare


def test_matching_registry_script_and_token_give_no_mismatch(sub_script: Script) -> None:
    assert _compare(_registry(), sub_script) == ()


def test_a_bag_serial_that_differs_is_named_with_both_serials(sub_script: Script) -> None:
    bags = (
        RegistryBag(item="hsm", item_kind="material", serial="TEB-999999", holder="bob", seq=31),
    )
    (mismatch,) = _compare(_registry(bags=bags), sub_script)[:1]
    assert mismatch.subject == "material hsm bag_in"
    assert (mismatch.expected, mismatch.observed) == ("TEB-999999", "TEB-210101")
    assert "TEB-999999" in mismatch.sentence and "TEB-210101" in mismatch.sentence
    assert "EXR-RKG-2026-11" in mismatch.sentence
    assert mismatch.path == ("materials", 0, "bag_in")


def test_a_material_sealed_in_the_registry_but_without_bag_in_the_script(
    sub_script: Script,
) -> None:
    hsm = sub_script.materials[0].model_copy(update={"bag_in": None})
    script = sub_script.model_copy(update={"materials": (hsm, *sub_script.materials[1:])})
    (mismatch,) = _compare(_registry(), script)
    assert (mismatch.expected, mismatch.observed) == ("TEB-210101", "(no bag)")
    assert "expects no bag" in mismatch.sentence


def test_a_bag_the_registry_does_not_know_is_a_mismatch(sub_script: Script) -> None:
    registry = _registry(bags=_registry().bags[1:])
    (mismatch,) = _compare(registry, sub_script)
    assert mismatch.subject == "material hsm bag_in"
    assert "records no bag sealed" in mismatch.sentence


def test_a_device_serial_that_differs_is_named(sub_script: Script) -> None:
    ws = sub_script.materials[1].model_copy(update={"serial": "WS-0008"})
    script = sub_script.model_copy(
        update={"materials": (sub_script.materials[0], ws, *sub_script.materials[2:])}
    )
    (mismatch,) = _compare(_registry(), script)
    assert mismatch.subject == "material workstation serial"
    assert (mismatch.expected, mismatch.observed) == ("WS-0007", "WS-0008")
    assert mismatch.path == ("materials", 1, "serial")


def test_materials_new_to_the_registry_are_not_mismatches(sub_script: Script) -> None:
    assert [m.id for m in sub_script.materials if _registry().device(m.id) is None] == [
        "camera",
        "printer",
    ]
    assert _compare(_registry(), sub_script) == ()


def test_another_token_serial_is_named(sub_script: Script) -> None:
    (mismatch,) = _compare(_registry(), sub_script, token_serial="0000aaaa")
    assert mismatch.subject == "token serial"
    assert (mismatch.expected, mismatch.observed) == (TOKEN, "0000aaaa")


def test_a_key_missing_from_the_token(sub_script: Script) -> None:
    (mismatch,) = _compare(_registry(), sub_script, keys=[])
    assert mismatch.subject == f"key {ROOT_LABEL}"
    assert (mismatch.expected, mismatch.observed) == ("present", "missing")
    assert ROOT_SPKI in mismatch.sentence
    assert mismatch.path == ("keys", 0, "label")


def test_an_unexpected_key_on_the_token(sub_script: Script) -> None:
    keys = [*ROOT_ON_TOKEN, ("stray-key", "0102", None)]
    (mismatch,) = _compare(_registry(), sub_script, keys=keys)
    assert mismatch.subject == "key stray-key"
    assert (mismatch.expected, mismatch.observed) == ("absent", "present")
    assert "does not list" in mismatch.sentence


def test_a_key_with_another_fingerprint(sub_script: Script) -> None:
    other = "11" * 32
    (mismatch,) = _compare(_registry(), sub_script, keys=[(ROOT_LABEL, ROOT_ID, other)])
    assert mismatch.subject == f"key {ROOT_LABEL} fingerprint"
    assert (mismatch.expected, mismatch.observed) == (ROOT_SPKI, other)
    assert "not the same key pair" in mismatch.sentence


def test_a_key_with_another_cka_id(sub_script: Script) -> None:
    (mismatch,) = _compare(_registry(), sub_script, keys=[(ROOT_LABEL, "ffff", None)])
    assert mismatch.subject == f"key {ROOT_LABEL} CKA_ID"
    assert (mismatch.expected, mismatch.observed) == (ROOT_ID, "ffff")


def test_a_destroyed_key_still_on_the_token(sub_script: Script) -> None:
    destroyed = _registry().keys[0].model_copy(update={"state": "destroyed"})
    (mismatch,) = _compare(_registry(keys=(destroyed,)), sub_script)
    assert (mismatch.expected, mismatch.observed) == ("destroyed", "present")
    assert "records as destroyed" in mismatch.sentence


def test_a_token_not_read_is_not_compared(sub_script: Script) -> None:
    registry = _registry()
    assert compare_registry(registry, sub_script, token_serial=None, token_keys=None) == ()


def test_a_key_found_later_is_checked_against_its_fingerprint() -> None:
    registry = _registry()
    assert registry_key_mismatch(registry, TOKEN, ROOT_LABEL, ROOT_ID, ROOT_SPKI) is None
    mismatch = registry_key_mismatch(registry, TOKEN, ROOT_LABEL, ROOT_ID, "22" * 32)
    assert mismatch is not None and mismatch.subject.endswith("fingerprint")


def _share_sets(init_script: Script, **changes: object) -> tuple[RegistryShareSet, ...]:
    activation = init_script.hsm_required().activation
    assert activation is not None and activation.so_pin is not None
    sets = []
    for what, split in (
        ("HSM user PIN", activation.user_pin),
        ("HSM security officer PIN", activation.so_pin),
    ):
        sets.append(
            RegistryShareSet.model_validate(
                {
                    "what": what,
                    "hsm_serial": TOKEN,
                    "threshold": split.threshold,
                    "set_identifier": 1234,
                    "check_value": "a1b2c3",
                    "holders": [
                        RegistryShareHolder(share=h.share, custodian=h.custodian, bag=f"TEB-{i}")
                        for i, h in enumerate(split.shares)
                    ],
                    **changes,
                }
            )
        )
    return tuple(sets)


def _init_registry(init_script: Script, **changes: object) -> Registry:
    hsm = init_script.materials[0]
    device = RegistryDevice(
        material="hsm",
        kind="hsm",
        description=hsm.description,
        model=hsm.model,
        serial=hsm.serial,
        token_serial=TOKEN,
    )
    bag = RegistryBag(item="hsm", item_kind="material", serial=hsm.bag_in or "", seq=5)
    return _registry(
        devices=(device,), bags=(bag,), keys=(), custodians=_share_sets(init_script, **changes)
    )


def test_custodians_that_match_give_no_mismatch(init_script: Script) -> None:
    assert _compare(_init_registry(init_script), init_script, keys=[]) == ()


def test_a_share_held_by_another_custodian(init_script: Script) -> None:
    registry = _init_registry(init_script)
    user = registry.custodians[0]
    swapped = (
        user.holders[0].model_copy(update={"custodian": "dan"}),
        *user.holders[1:],
    )
    custodians = (user.model_copy(update={"holders": swapped}), registry.custodians[1])
    (mismatch,) = _compare(
        registry.model_copy(update={"custodians": custodians}), init_script, keys=[]
    )
    assert mismatch.subject == "HSM user PIN share user-pin-share-1 custodian"
    assert (mismatch.expected, mismatch.observed) == ("dan", "bob")
    assert mismatch.path == ("hsm", "activation", "user_pin", "shares", 0, "custodian")
    assert "bag TEB-0" in mismatch.sentence


def test_another_threshold_is_named(init_script: Script) -> None:
    mismatches = _compare(_init_registry(init_script, threshold=3), init_script, keys=[])
    assert [m.subject for m in mismatches] == [
        "HSM user PIN threshold",
        "HSM security officer PIN threshold",
    ]


def test_a_script_without_activation_for_a_split_pin(init_script: Script) -> None:
    hsm = init_script.hsm_required().model_copy(update={"activation": None})
    script = init_script.model_copy(update={"hsm": hsm})
    mismatches = _compare(_init_registry(init_script), script, keys=[])
    assert [m.observed for m in mismatches] == ["no m-of-n activation"] * 2
    assert "bob, carol, frank" in mismatches[0].sentence


def test_expected_bag_in_is_the_sealed_bag() -> None:
    registry = _registry()
    assert expected_bag_in(registry, "hsm") == "TEB-210101"
    assert expected_bag_in(registry, "hsm-renamed", "HSM-0001") == "TEB-210101"
    assert expected_bag_in(registry, "camera") is None


# ------------------------------------------------------------------------------------ loading


def _write(tmp_path: Path, registry: Registry) -> Path:
    path = tmp_path / "registry.json"
    write_registry(path, registry)
    return path


def test_a_written_registry_loads_back_equal(tmp_path: Path) -> None:
    registry = _registry()
    path = _write(tmp_path, registry)
    assert load_registry(path) == registry
    assert path.read_bytes() == registry_bytes(registry)
    assert path.read_bytes().endswith(b"}\n")


def test_a_registry_is_written_once(tmp_path: Path) -> None:
    path = _write(tmp_path, _registry())
    with pytest.raises(OutputExistsError, match="never overwrites"):
        write_registry(path, _registry())


def _edited(tmp_path: Path, edit: object) -> Path:
    path = _write(tmp_path, _registry())
    data = json.loads(path.read_text())
    assert callable(edit)
    edit(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return bad


def test_a_missing_field_is_named_with_its_line(tmp_path: Path) -> None:
    bad = _edited(tmp_path, lambda d: d["bags"][1].pop("serial"))
    with pytest.raises(RegistryError) as caught:
        load_registry(bad)
    line = read_source(bad).position(("bags", 1)).line
    assert f"{bad}:{line}: bags[1].serial: required field is missing." in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_a_wrong_value_is_named_with_its_line(tmp_path: Path) -> None:
    bad = _edited(tmp_path, lambda d: d["keys"][0].update(state="lost"))
    with pytest.raises(RegistryError) as caught:
        load_registry(bad)
    line = read_source(bad).position(("keys", 0, "state")).line
    assert str(caught.value).startswith(f"The registry is not valid: {bad}:{line}: keys[0].state:")
    assert "'lost' is not allowed here" in str(caught.value)


def test_an_unknown_field_is_refused(tmp_path: Path) -> None:
    bad = _edited(tmp_path, lambda d: d["devices"][0].update(colour="grey"))
    with pytest.raises(RegistryError, match=r"devices\[0\]\.colour: unknown field"):
        load_registry(bad)


def test_not_json_and_not_a_registry_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "sealroom_registry": 1,\n  oops\n}\n')
    with pytest.raises(RegistryError, match=rf"{broken}:3: the registry is not JSON"):
        load_registry(broken)
    other = tmp_path / "other.json"
    other.write_text('{"sealroom": 1}\n')
    with pytest.raises(RegistryError, match="not a Sealroom registry of format 1"):
        load_registry(other)
    with pytest.raises(RegistryError, match="cannot read the registry"):
        load_registry(tmp_path / "absent.json")


# ------------------------------------------------------------------------------------ prefill

TEMPLATE = """\
# Next ceremony (template). Bags are filled from the registry.
sealroom: 1
materials:
  # The HSM: its bag comes from the registry.
  - id: hsm
    kind: hsm   # keep this comment
    description: Hardware security module
    model: ExampleHSM 9000 (PCIe)
    serial: HSM-0001    # on the label
    bag_in: TEB-000000  # placeholder
    bag_out: TEB-300001
  - id: workstation
    kind: workstation
    description: Sealroom air-gapped workstation
    model: Sealroom live image
    serial: WS-0007 # no bag yet
    bag_out: TEB-300002
  - {id: camera, kind: camera, description: Camera, model: Cam, serial: CAM-0003}
  - id: printer
    kind: printer
    description: Printer
    model: LaserJet
    serial: PRN-0042
"""


def test_prefill_fills_bags_and_keeps_every_comment_and_line() -> None:
    bags = (
        *_registry().bags,
        RegistryBag(item="camera", item_kind="material", serial="100301", seq=12),
    )
    devices = (
        *_registry().devices,
        RegistryDevice(
            material="camera", kind="camera", description="Camera", model="Cam", serial="CAM-0003"
        ),
    )
    result = prefill_script(_registry(bags=bags, devices=devices), TEMPLATE)
    before, after = TEMPLATE.splitlines(), result.text.splitlines()
    comments = [line[line.index("#") :] for line in before if "#" in line]
    assert comments == [line[line.index("#") :] for line in after if "#" in line]
    assert "    bag_in: TEB-210101  # placeholder" in after
    assert after[after.index("    serial: WS-0007 # no bag yet") + 1] == "    bag_in: TEB-210102"
    # A serial that YAML would read as a number is quoted, in a flow mapping too.
    assert (
        "  - {id: camera, kind: camera, description: Camera, model: Cam, serial: CAM-0003, "
        'bag_in: "100301"}' in after
    )
    data = yaml.safe_load(result.text)
    assert [m.get("bag_in") for m in data["materials"]] == [
        "TEB-210101",
        "TEB-210102",
        "100301",
        None,
    ]
    assert len(after) == len(before) + 1
    assert any("TEB-000000 replaced by TEB-210101" in c for c in result.changes)
    assert any("bag_in TEB-210102 added" in c for c in result.changes)
    assert any("printer" in n and "not in the registry" in n for n in result.notes)


def test_prefill_leaves_a_material_whose_serial_differs() -> None:
    text = TEMPLATE.replace("serial: HSM-0001", "serial: HSM-0002")
    result = prefill_script(_registry(), text)
    assert "bag_in: TEB-000000  # placeholder" in result.text
    assert any("HSM-0002 differs from the registry's HSM-0001" in n for n in result.notes)


def test_prefill_adds_a_missing_serial_before_the_bag() -> None:
    text = TEMPLATE.replace("    serial: WS-0007 # no bag yet\n", "")
    result = prefill_script(_registry(), text)
    lines = result.text.splitlines()
    at = lines.index("  - id: workstation")
    assert lines[at + 1 : at + 3] == ["    serial: WS-0007", "    bag_in: TEB-210102"]


def test_prefilled_catalogue_script_lints_clean_and_keeps_its_comments(tmp_path: Path) -> None:
    text = SUB_SCRIPT.read_text()
    bags = (
        RegistryBag(item="hsm", item_kind="material", serial="TEB-100301", seq=31),
        RegistryBag(item="workstation", item_kind="material", serial="TEB-100302", seq=39),
    )
    result = prefill_script(_registry(bags=bags), text)
    out = tmp_path / "next.yaml"
    out.write_text(result.text)
    assert lint_findings(out)[2] == []
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert comments and comments == [
        line for line in result.text.splitlines() if line.lstrip().startswith("#")
    ]
    assert (
        compare_registry(
            _registry(bags=bags), load_script(out).script, token_serial=None, token_keys=None
        )
        == ()
    )


# ------------------------------------------------------------------------------------ commands


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sealroom")
    add_registry_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_check_prints_script_lines_and_exits_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bags = (RegistryBag(item="hsm", item_kind="material", serial="TEB-777777", seq=31),)
    path = _write(tmp_path, _registry(bags=bags))
    assert _cli(["registry", "check", str(path), str(SUB_SCRIPT)]) == 1
    out = capsys.readouterr().out.splitlines()
    doc = read_source(SUB_SCRIPT)
    line = doc.position(("materials", 0, "bag_in")).line
    assert out[0].startswith(f"{SUB_SCRIPT}:{line}: registry: The script expects 'hsm' in bag")
    assert "'TEB-777777'" in out[0]
    # The workstation's bag is unknown to this registry: named too, on its own line.
    line = doc.position(("materials", 1, "bag_in")).line
    assert out[1].startswith(f"{SUB_SCRIPT}:{line}: registry: The script expects 'workstation'")
    assert out[2].endswith("each becomes a deviation the room decides")


def test_check_of_a_matching_script_exits_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, _registry())
    assert _cli(["registry", "check", str(path), str(SUB_SCRIPT)]) == 0
    assert "matches the registry of ceremony EXR-RKG-2026-11" in capsys.readouterr().out


def test_prefill_command_writes_a_new_file_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bags = (RegistryBag(item="hsm", item_kind="material", serial="TEB-100301", seq=31),)
    path = _write(tmp_path, _registry(bags=bags))
    out = tmp_path / "next.yaml"
    assert _cli(["registry", "prefill", str(path), str(SUB_SCRIPT), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "changed: materials[0] (hsm): bag_in TEB-210101 replaced by TEB-100301" in printed
    assert "the written script lints clean" in printed
    with pytest.raises(OutputExistsError):
        _cli(["registry", "prefill", str(path), str(SUB_SCRIPT), "--out", str(out)])
