"""The hsm check: the PKCS#11 module loads and the expected token is present (no login)."""

from __future__ import annotations

from pathlib import Path

from sealroom.ceremony.preflight import CheckResult


def hsm_result(module: str | None, token: str | None, *, rehearsal: bool = False) -> CheckResult:
    """PASS when ``module`` loads and lists a token labelled ``token`` (any token when None).

    Runs in the ``sealroom preflight`` process only: a ceremony checks its HSM through its own
    adapter at the opening (token.identified), so the module is never loaded twice in a process.
    """
    if not module:
        return CheckResult(
            "hsm",
            False,
            "no PKCS#11 module named: give --module PATH and --token LABEL (or --rehearsal for "
            "SoftHSM2)",
        )
    facts: dict[str, str | tuple[str, ...]] = {"module": module, "expected_token": token or ""}
    if not Path(module).is_file():
        return CheckResult("hsm", False, f"the PKCS#11 module {module} does not exist", facts)
    try:
        import pkcs11

        lib = pkcs11.lib(module)
        labels = []
        for slot in lib.get_slots(token_present=True):
            info = slot.get_token()
            if pkcs11.TokenFlag.TOKEN_INITIALIZED not in info.flags:
                continue  # SoftHSM always offers one empty slot for the next token
            serial = info.serial.decode(errors="replace").strip()
            labels.append(f"{info.label.strip()} (serial {serial})")
    except Exception as exc:  # any failure of a foreign module is a FAIL line
        return CheckResult(
            "hsm",
            False,
            f"the PKCS#11 module {module} did not load or list its tokens ({type(exc).__name__})",
            facts,
        )
    facts["tokens"] = tuple(labels)
    if token is None:
        if rehearsal:
            return CheckResult(
                "hsm",
                True,
                f"{module} loaded (a rehearsal makes its own throwaway token; "
                f"{len(labels)} initialised now)",
                facts,
            )
        if not labels:
            return CheckResult(
                "hsm", False, f"{module} loaded but shows no initialised token", facts
            )
        return CheckResult(
            "hsm", True, f"{module} loaded; tokens present: {', '.join(labels)}", facts
        )
    present = [label for label in labels if label.split(" (serial ")[0] == token]
    if not present:
        return CheckResult(
            "hsm",
            False,
            f"{module} loaded but no token is labelled {token!r} (present: "
            f"{', '.join(labels) or 'none'})",
            facts,
        )
    return CheckResult("hsm", True, f"{module} loaded; token {present[0]} present", facts)
