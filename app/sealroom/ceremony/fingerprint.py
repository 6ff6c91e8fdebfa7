"""SHA-256 fingerprints shown to the room as grouped hex and as PGP words (pure stdlib)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

# The PGP word list (Juola and Zimmermann, 1995; PGPfone and PGP's "biometric" fingerprints).
# A byte at an even position (0, 2, 4, ...) is read from the even list of two-syllable words, a
# byte at an odd position from the odd list of three-syllable words, so a dropped, repeated or
# swapped word is heard. Eight words per row; the comment gives the byte values of the row.
# Spelling and capitals are the canonical list's; words are shown in lower case. Cross-checked
# against two independent transcriptions (see docs/fingerprints.md).
_EVEN_ROWS = (
    "aardvark absurd accrue acme adrift adult afflict ahead",  # 00-07
    "aimless Algol allow alone ammo ancient apple artist",  # 08-0F
    "assume Athens atlas Aztec baboon backfield backward banjo",  # 10-17
    "beaming bedlamp beehive beeswax befriend Belfast berserk billiard",  # 18-1F
    "bison blackjack blockade blowtorch bluebird bombast bookshelf brackish",  # 20-27
    "breadline breakup brickyard briefcase Burbank button buzzard cement",  # 28-2F
    "chairlift chatter checkup chisel choking chopper Christmas clamshell",  # 30-37
    "classic classroom cleanup clockwork cobra commence concert cowbell",  # 38-3F
    "crackdown cranky crowfoot crucial crumpled crusade cubic dashboard",  # 40-47
    "deadbolt deckhand dogsled dragnet drainage dreadful drifter dropper",  # 48-4F
    "drumbeat drunken Dupont dwelling eating edict egghead eightball",  # 50-57
    "endorse endow enlist erase escape exceed eyeglass eyetooth",  # 58-5F
    "facial fallout flagpole flatfoot flytrap fracture framework freedom",  # 60-67
    "frighten gazelle Geiger glitter glucose goggles goldfish gremlin",  # 68-6F
    "guidance hamlet highchair hockey indoors indulge inverse involve",  # 70-77
    "island jawbone keyboard kickoff kiwi klaxon locale lockup",  # 78-7F
    "merit minnow miser Mohawk mural music necklace Neptune",  # 80-87
    "newborn nightbird Oakland obtuse offload optic orca payday",  # 88-8F
    "peachy pheasant physique playhouse Pluto preclude prefer preshrunk",  # 90-97
    "printer prowler pupil puppy python quadrant quiver quota",  # 98-9F
    "ragtime ratchet rebirth reform regain reindeer rematch repay",  # A0-A7
    "retouch revenge reward rhythm ribcage ringbolt robust rocker",  # A8-AF
    "ruffled sailboat sawdust scallion scenic scorecard Scotland seabird",  # B0-B7
    "select sentence shadow shamrock showgirl skullcap skydive slingshot",  # B8-BF
    "slowdown snapline snapshot snowcap snowslide solo southward soybean",  # C0-C7
    "spaniel spearhead spellbind spheroid spigot spindle spyglass stagehand",  # C8-CF
    "stagnate stairway standard stapler steamship sterling stockman stopwatch",  # D0-D7
    "stormy sugar surmount suspense sweatband swelter tactics talon",  # D8-DF
    "tapeworm tempest tiger tissue tonic topmost tracker transit",  # E0-E7
    "trauma treadmill Trojan trouble tumor tunnel tycoon uncut",  # E8-EF
    "unearth unwind uproot upset upshot vapor village virus",  # F0-F7
    "Vulcan waffle wallet watchword wayside willow woodlark Zulu",  # F8-FF
)
_ODD_ROWS = (
    "adroitness adviser aftermath aggregate alkali almighty amulet amusement",  # 00-07
    "antenna applicant Apollo armistice article asteroid Atlantic atmosphere",  # 08-0F
    "autopsy Babylon backwater barbecue belowground bifocals bodyguard bookseller",  # 10-17
    "borderline bottomless Bradbury bravado Brazilian breakaway Burlington businessman",  # 18-1F
    "butterfat Camelot candidate cannonball Capricorn caravan caretaker celebrate",  # 20-27
    "cellulose certify chambermaid Cherokee Chicago clergyman coherence combustion",  # 28-2F
    "commando company component concurrent confidence conformist congregate consensus",  # 30-37
    "consulting corporate corrosion councilman crossover crucifix cumbersome customer",  # 38-3F
    "Dakota decadence December decimal designing detector detergent determine",  # 40-47
    "dictator dinosaur direction disable disbelief disruptive distortion document",  # 48-4F
    "embezzle enchanting enrollment enterprise equation equipment escapade Eskimo",  # 50-57
    "everyday examine existence exodus fascinate filament finicky forever",  # 58-5F
    "fortitude frequency gadgetry Galveston getaway glossary gossamer graduate",  # 60-67
    "gravity guitarist hamburger Hamilton handiwork hazardous headwaters hemisphere",  # 68-6F
    "hesitate hideaway holiness hurricane hydraulic impartial impetus inception",  # 70-77
    "indigo inertia infancy inferno informant insincere insurgent integrate",  # 78-7F
    "intention inventive Istanbul Jamaica Jupiter leprosy letterhead liberty",  # 80-87
    "maritime matchmaker maverick Medusa megaton microscope microwave midsummer",  # 88-8F
    "millionaire miracle misnomer molasses molecule Montana monument mosquito",  # 90-97
    "narrative nebula newsletter Norwegian October Ohio onlooker opulent",  # 98-9F
    "Orlando outfielder Pacific pandemic Pandora paperweight paragon paragraph",  # A0-A7
    "paramount passenger pedigree Pegasus penetrate perceptive performance pharmacy",  # A8-AF
    "phonetic photograph pioneer pocketful politeness positive potato processor",  # B0-B7
    "provincial proximate puberty publisher pyramid quantity racketeer rebellion",  # B8-BF
    "recipe recover repellent replica reproduce resistor responsive retraction",  # C0-C7
    "retrieval retrospect revenue revival revolver sandalwood sardonic Saturday",  # C8-CF
    "savagery scavenger sensation sociable souvenir specialist speculate stethoscope",  # D0-D7
    "stupendous supportive surrender suspicious sympathy tambourine telephone therapist",  # D8-DF
    "tobacco tolerance tomorrow torpedo tradition travesty trombonist truncated",  # E0-E7
    "typewriter ultimate undaunted underfoot unicorn unify universe unravel",  # E8-EF
    "upcoming vacancy vagabond vertigo Virginia visitor vocalist voyager",  # F0-F7
    "warranty Waterloo whimsical Wichita Wilmington Wyoming yesteryear Yucatan",  # F8-FF
)

EVEN_WORDS: tuple[str, ...] = tuple(word for row in _EVEN_ROWS for word in row.split())
"""The 256 two-syllable words, indexed by byte value, for bytes at even positions."""
ODD_WORDS: tuple[str, ...] = tuple(word for row in _ODD_ROWS for word in row.split())
"""The 256 three-syllable words, indexed by byte value, for bytes at odd positions."""

if len(EVEN_WORDS) != 256 or len(ODD_WORDS) != 256:  # pragma: no cover - guards an edit mistake
    raise RuntimeError("the PGP word list must hold 256 even and 256 odd words")

SHA256_HEX_LENGTH = 64
_HEX_RE = re.compile(r"[0-9a-f]{64}")
_GROUP = 4
_SHORT_WORDS = 4


def pgp_words(data: bytes) -> str:
    """Return the PGP words of ``data``, lower case, separated by single spaces ("" if empty)."""
    return " ".join(
        (ODD_WORDS if position % 2 else EVEN_WORDS)[value].lower()
        for position, value in enumerate(bytes(data))
    )


@dataclass(frozen=True)
class Fingerprint:
    """A SHA-256 digest as the room reads it: 64 lower-case hex digits and 32 PGP words.

    Built by :func:`sha256_fingerprint`. The constructor refuses a hex string that is not a SHA-256
    digest and words that do not spell it, so a stored fingerprint cannot disagree with itself.
    """

    hex: str
    """64 lower-case hex digits."""
    words: str
    """The digest's 32 PGP words, lower case, separated by single spaces."""

    def __post_init__(self) -> None:
        if not isinstance(self.hex, str) or _HEX_RE.fullmatch(self.hex) is None:
            raise ValueError(
                "a fingerprint's hex must be 64 lower-case hex digits (a SHA-256 digest)"
            )
        if self.words != pgp_words(bytes.fromhex(self.hex)):
            raise ValueError("a fingerprint's PGP words do not spell its hex digits")

    def grouped(self) -> str:
        """Return the hex in upper case, in 16 groups of 4 separated by spaces."""
        upper = self.hex.upper()
        return " ".join(upper[i : i + _GROUP] for i in range(0, len(upper), _GROUP))

    def short_words(self) -> str:
        """Return the first 4 and the last 4 words with " … " between, for a compact display."""
        words = self.words.split(" ")
        return " ".join(words[:_SHORT_WORDS]) + " … " + " ".join(words[-_SHORT_WORDS:])

    def to_json(self) -> dict[str, str]:
        """Return the journal's form: ``{"hex": ..., "words": ...}``."""
        return {"hex": self.hex, "words": self.words}


def sha256_fingerprint(data: bytes) -> Fingerprint:
    """Return the fingerprint of ``data``: its SHA-256 as hex and as PGP words."""
    digest = hashlib.sha256(bytes(data)).digest()
    return Fingerprint(hex=digest.hex(), words=pgp_words(digest))


def fingerprint_from_hex(digest_hex: str) -> Fingerprint:
    """The fingerprint of a SHA-256 already known as hex: the same hex, spelt in PGP words."""
    return Fingerprint(hex=digest_hex, words=pgp_words(bytes.fromhex(digest_hex)))


def fingerprint_from_json(obj: object) -> Fingerprint:
    """Read back a fingerprint stored as ``{"hex": ..., "words": ...}``; raise ValueError otherwise.

    Both keys must be present, no other key is allowed, and the words must spell the hex.
    """
    if not isinstance(obj, Mapping):
        raise ValueError("a fingerprint must be an object with the keys 'hex' and 'words'")
    keys = set(obj.keys())
    if keys != {"hex", "words"}:
        raise ValueError(
            "a fingerprint must have exactly the keys 'hex' and 'words', "
            f"found {sorted(str(key) for key in keys)}"
        )
    hex_value = obj["hex"]
    words = obj["words"]
    if not isinstance(hex_value, str) or not isinstance(words, str):
        raise ValueError("a fingerprint's 'hex' and 'words' must be strings")
    return Fingerprint(hex=hex_value, words=words)
