"""Deterministic synthetic people for seeding emulators: the same seed gives the same
people, names include non-ASCII letters, emails are unique within one call."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field

FIRST_NAMES = (
    "Anna", "Zoë", "José", "Łukasz", "Søren", "Ingrid", "Mário", "Chloé", "Dmitri", "Aiko",
    "Björn", "Noémie", "Jürgen", "Ana", "Ciarán", "Fatima", "Oğuz", "Priya", "Tomás", "Eva",
    "Wei", "Hélène", "Nikolaj", "Renée",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "García", "Kowalski", "Østergaard", "Dubois", "Rossi", "Nováková", "Smith",
    "Yılmaz", "Björk", "Ferreira", "O'Brien", "Papadopoulos", "Nakamura", "Janssen",
    "Lefèvre", "Horváth", "Eriksson", "Núñez", "Schmidt",
)  # fmt: skip
COMPANIES = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark Industries", "Wayne Enterprises",
    "Tyrell", "Soylent", "Hooli", "Vandelay Industries",
)  # fmt: skip
JOB_TITLES = ("CEO", "Sales manager", "Developer", "Marketing lead", "Accountant", "Buyer")
CITIES = (
    ("Berlin", "DE", "+4930"), ("Gdańsk", "PL", "+4858"), ("Lyon", "FR", "+334"),
    ("Milano", "IT", "+3902"), ("København", "DK", "+453"), ("Porto", "PT", "+35122"),
    ("Ghent", "BE", "+329"), ("Zürich", "CH", "+4144"),
)  # fmt: skip
TAGS = ("customer", "lead", "vip", "newsletter", "partner", "trial")
DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class Person:
    """One synthetic contact, with the fields most apps share."""

    first_name: str
    last_name: str
    email: str
    phone: str
    company: str
    job_title: str
    city: str
    country: str
    tags: tuple[str, ...] = field(default_factory=tuple)
    notes: str = ""
    age_days: float = 0.0  # how long ago it was created, for realistic timestamps

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def ascii_slug(text: str) -> str:
    """``"Łukasz Müller"`` → ``"lukasz.muller"``: for emails, which stay ASCII here."""
    text = text.replace("Ł", "L").replace("ł", "l").replace("ø", "o").replace("Ø", "O")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return ".".join("".join(c for c in part if c.isalnum()) for part in plain.lower().split())


def people(count: int, seed: int = 0, start: int = 0) -> list[Person]:
    """``count`` people from ``seed``; ``start`` offsets the numbering so that two calls
    on one account (start=0, start=count) never repeat an email."""
    rng = random.Random(seed)
    result = []
    for index in range(start, start + count):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        city, country, prefix = rng.choice(CITIES)
        email = f"{ascii_slug(first)}.{ascii_slug(last)}.{seed}x{index}@{rng.choice(DOMAINS)}"
        result.append(
            Person(
                first_name=first,
                last_name=last,
                email=email,
                phone=f"{prefix}{rng.randrange(1000000, 9999999)}",
                company=rng.choice(COMPANIES),
                job_title=rng.choice(JOB_TITLES),
                city=city,
                country=country,
                tags=tuple(sorted(rng.sample(TAGS, rng.randrange(0, 3)))),
                notes=rng.choice(("", "", "Met at the fair.", "Prefers email.", "Call after 3pm.")),
                age_days=rng.uniform(1, 60),
            )
        )
    return result
