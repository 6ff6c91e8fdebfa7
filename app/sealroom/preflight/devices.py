"""The devices check: USB, block and PCI devices listed and compared with the script's materials."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sealroom.ceremony.preflight import CheckResult, MaterialRef
from sealroom.preflight.system import SystemView

USB_HUB_CLASS = "09"
"""bDeviceClass of a USB hub: infrastructure, listed but never flagged."""
PCI_NETWORK_CLASSES = ("0x02", "0x0d")
"""PCI class codes (first byte) of network and wireless controllers: flagged even unbound."""
VIRTUAL_BLOCK = ("loop", "ram", "zram", "dm-", "md", "sr", "nbd")
"""Block devices that are not hardware someone plugged in (the live medium is sr or loop)."""


@dataclass(frozen=True)
class Device:
    """One device as the check saw it: where (bus and sysfs name) and what it says it is."""

    bus: str
    name: str
    ident: str
    """vendor:product (USB, PCI) or the block device's name."""
    description: str
    serial: str
    infrastructure: bool = False

    def text(self) -> str:
        serial = f" serial {self.serial}" if self.serial else ""
        return f"{self.bus} {self.name} {self.ident} {self.description}{serial}".rstrip()


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def usb_devices(view: SystemView) -> tuple[Device, ...]:
    base = view.sys / "bus" / "usb" / "devices"
    found = []
    for name in view.entries(base):
        folder = base / name
        vendor = view.read_text(folder / "idVendor")
        if vendor is None or ":" in name:
            continue  # an interface (1-1:1.0), not a device
        product_id = view.read_text(folder / "idProduct") or "????"
        words = [view.read_text(folder / "manufacturer") or "", view.read_text(folder / "product")]
        klass = view.read_text(folder / "bDeviceClass") or ""
        found.append(
            Device(
                "usb",
                name,
                f"{vendor}:{product_id}",
                " ".join(w for w in words if w),
                view.read_text(folder / "serial") or "",
                infrastructure=klass == USB_HUB_CLASS or name.startswith("usb"),
            )
        )
    return tuple(found)


def block_devices(view: SystemView) -> tuple[Device, ...]:
    base = view.sys / "block"
    found = []
    for name in view.entries(base):
        if name.startswith(VIRTUAL_BLOCK):
            continue
        device = base / name / "device"
        words = [view.read_text(device / "vendor") or "", view.read_text(device / "model") or ""]
        serial = view.read_text(device / "serial") or view.read_text(base / name / "serial") or ""
        removable = view.read_text(base / name / "removable") == "1"
        description = " ".join(w for w in words if w) + (" (removable)" if removable else "")
        found.append(Device("block", name, name, description.strip(), serial))
    return tuple(found)


def pci_devices(view: SystemView) -> tuple[Device, ...]:
    base = view.sys / "bus" / "pci" / "devices"
    found = []
    for name in view.entries(base):
        folder = base / name
        vendor = (view.read_text(folder / "vendor") or "0x????").removeprefix("0x")
        device = (view.read_text(folder / "device") or "0x????").removeprefix("0x")
        klass = view.read_text(folder / "class") or ""
        network = klass[:4] in PCI_NETWORK_CLASSES
        found.append(
            Device(
                "pci",
                name,
                f"{vendor}:{device}",
                f"class {klass}" + (" (network controller)" if network else ""),
                "",
                infrastructure=not network,
            )
        )
    return tuple(found)


def matching_material(device: Device, materials: Sequence[MaterialRef]) -> MaterialRef | None:
    """The material a device is, by the rule in docs/preflight.md.

    Its serial equals the material's serial, or its description (vendor and product) appears in
    the material's model or the model in the description (case and spacing ignored).
    """
    description = _norm(device.description.replace(" (removable)", ""))
    for material in materials:
        if device.serial and _norm(device.serial) == _norm(material.serial):
            return material
        model = _norm(material.model)
        if description and (description in model or model in description):
            return material
    return None


def devices_result(view: SystemView, materials: Sequence[MaterialRef] | None) -> CheckResult:
    """List every USB, block and PCI device; with materials, flag what no material accounts for.

    Hubs and PCI bridges are infrastructure; PCI network controllers are always flagged.
    """
    devices = usb_devices(view) + block_devices(view) + pci_devices(view)
    facts: dict[str, str | tuple[str, ...]] = {
        "usb": tuple(d.text() for d in devices if d.bus == "usb"),
        "block": tuple(d.text() for d in devices if d.bus == "block"),
        "pci": tuple(d.text() for d in devices if d.bus == "pci"),
    }
    counts = (
        f"{len(facts['usb'])} USB, {len(facts['block'])} block and {len(facts['pci'])} PCI devices"
    )
    if materials is None:
        flagged = [d for d in devices if d.bus == "pci" and not d.infrastructure]
        facts["unexpected"] = tuple(d.text() for d in flagged)
        if flagged:
            return CheckResult(
                "devices",
                False,
                f"{counts}; network controller present: {'; '.join(d.text() for d in flagged)}",
                facts,
            )
        return CheckResult(
            "devices", True, f"{counts}; no script given, so none compared with materials", facts
        )
    matched: list[str] = []
    flagged = []
    for device in devices:
        material = (
            None
            if device.bus == "pci" and not device.infrastructure
            else (matching_material(device, materials))
        )
        if material is not None:
            matched.append(f"{device.bus} {device.name} is material {material.id}")
        elif not device.infrastructure:
            flagged.append(device)
    facts["matched"] = tuple(matched)
    facts["unexpected"] = tuple(d.text() for d in flagged)
    if flagged:
        return CheckResult(
            "devices",
            False,
            f"{counts}; not among the script's materials: {'; '.join(d.text() for d in flagged)}",
            facts,
        )
    return CheckResult(
        "devices",
        True,
        f"{counts}; every one is infrastructure or a scripted material ({len(matched)} matched)",
        facts,
    )
