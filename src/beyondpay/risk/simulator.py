"""A seeded synthetic stream of UPI and card payments with labelled fraud: the model's data.

PaySim-like: a population of payers, each of a persona (how much, how often, at what hours,
to whom, by which rail, how far from home), pays over simulated days; fraud patterns are
mixed in as episodes. Every payment goes through the production feature code
(``features.compute`` over a ``MemoryHistory`` that is read, then recorded), so the model is
trained on exactly the features the service computes.

Legitimate behaviour deliberately overlaps the fraud patterns (a new phone, a trip, a big
purchase from a new shop, a new shop's opening day, guest checkouts with no history), so the
task is not trivially separable and the held-out metrics mean something.

Everything random is drawn from one ``numpy.random.Generator`` seeded by the caller, in a fixed
order: the same seed and size give the same rows, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

import numpy as np

from beyondpay.kit.invariants import invariant
from beyondpay.risk.domain import IST, PaymentContext, Rail
from beyondpay.risk.features import FEATURE_NAMES, MemoryHistory, compute

SIMULATED_DAYS: Final = 21
# Fraud episodes start once payers have a week of history, as in production.
FRAUD_START_DAY: Final = 7
FRAUD_ROW_SHARE: Final = 0.03
ROWS_MIN: Final = 500
ROWS_MAX: Final = 2_000_000
PAYERS_MIN: Final = 40
MERCHANTS_PER_PAYER: Final = 0.2
AMOUNT_MINOR_MIN: Final = 100  # ₹1
AMOUNT_MINOR_MAX: Final = 1_00_000_00  # ₹1,00,000: NPCI's per-payment ceiling
START_AT: Final = datetime(2026, 1, 5, tzinfo=IST)  # a Monday
HOME_JITTER_KM: Final = 12.0
# Share of legitimate payments that are one-off big purchases from a shop never paid before.
BIG_PURCHASE_SHARE: Final = 0.012
# A payer changes phone about once a year; a guest checkout has no account and no device.
DEVICE_CHANGE_PER_DAY: Final = 0.003
GUEST_CARD_SHARE: Final = 0.15
NEW_SHOP_OPENINGS_PER_1000_PAYERS: Final = 1.5
KM_PER_DEGREE: Final = 111.0

CITIES: Final[tuple[tuple[str, float, float], ...]] = (
    ("Mumbai", 19.076, 72.878),
    ("Delhi", 28.704, 77.102),
    ("Bengaluru", 12.972, 77.595),
    ("Hyderabad", 17.385, 78.487),
    ("Chennai", 13.083, 80.271),
    ("Kolkata", 22.573, 88.364),
    ("Pune", 18.520, 73.857),
    ("Ahmedabad", 23.023, 72.571),
    ("Jaipur", 26.912, 75.787),
    ("Lucknow", 26.847, 80.947),
    ("Guwahati", 26.144, 91.736),
    ("Kochi", 9.931, 76.267),
)


class FraudPattern(StrEnum):
    account_takeover = "account_takeover"  # a new device far away empties the account
    mule_fan_in = "mule_fan_in"  # many payers new to one payee pay it within hours
    card_testing = "card_testing"  # a burst of tiny card payments checks stolen cards
    amount_spike = "amount_spike"  # one payment many times the payer's usual, to a new payee


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    population_share: float
    amount_rupees_median: float
    amount_log_sigma: float
    payments_per_day: float
    peak_hours_ist: tuple[int, ...]
    card_share: float
    p2p_share: float
    regular_merchants: int
    new_payee_share: float
    trips_per_day: float
    mccs: tuple[str, ...]


PERSONAS: Final[tuple[Persona, ...]] = (
    Persona(
        "salaried",
        0.32,
        450.0,
        1.0,
        2.2,
        (8, 9, 13, 19, 20, 21),
        0.35,
        0.2,
        14,
        0.06,
        0.01,
        ("5411", "5812", "5541", "4814", "5999", "4111", "5311", "5691", "4900", "5912"),
    ),
    Persona(
        "student",
        0.2,
        120.0,
        0.9,
        2.6,
        (11, 13, 17, 21, 22, 23),
        0.12,
        0.35,
        8,
        0.1,
        0.01,
        ("5814", "5816", "4814", "4111", "5999", "8220", "4121"),
    ),
    Persona(
        "small_merchant_customer",
        0.26,
        80.0,
        0.8,
        3.5,
        (7, 8, 10, 12, 18, 19),
        0.05,
        0.1,
        6,
        0.04,
        0.005,
        ("5411", "5814", "5912", "5499", "4111"),
    ),
    Persona(
        "frequent_traveller",
        0.1,
        1400.0,
        1.1,
        2.0,
        (6, 7, 12, 20, 22),
        0.65,
        0.1,
        16,
        0.15,
        0.25,
        ("4511", "7011", "5812", "4121", "4722", "5541", "5732"),
    ),
    Persona(
        "gig_worker",
        0.12,
        250.0,
        1.0,
        3.0,
        (9, 14, 18, 20, 23),
        0.05,
        0.5,
        6,
        0.08,
        0.02,
        ("5541", "5814", "4814", "4121", "5411"),
    ),
)
HIGH_RISK_MCCS: Final = ("5732", "5944", "6051", "7995", "4829", "5045")
CARD_TESTING_MCCS: Final = ("5816", "5999", "4814", "5967")


@dataclass(frozen=True, slots=True)
class SimulatedPayment:
    context: PaymentContext
    fraud: FraudPattern | None


@dataclass(frozen=True, slots=True)
class Dataset:
    """Feature rows in ``FEATURE_NAMES`` order, labels (1 = fraud) and each row's pattern."""

    features: np.ndarray  # float64, one row per payment, one column per feature
    labels: np.ndarray  # int8
    patterns: tuple[str, ...]  # the fraud pattern's name, "" for a legitimate payment
    seed: int

    @property
    def fraud_share(self) -> float:
        return float(self.labels.mean()) if len(self.labels) else 0.0


@dataclass(slots=True)
class _Payer:
    key: str
    persona: Persona
    home: tuple[float, float]
    created_at: datetime
    device_id: str
    device_bound_at: datetime
    card_fingerprint: str
    merchants: list[int]
    contacts: list[int]
    trips: list[tuple[float, float, float, float]] = field(
        default_factory=list
    )  # from, to, lat, lon


@dataclass(frozen=True, slots=True)
class _Merchant:
    key: str
    mcc: str


@dataclass(order=True, frozen=True, slots=True)
class _Planned:
    """One payment to make at ``at_s`` (seconds from the start); ``sequence`` breaks ties."""

    at_s: float
    sequence: int
    context: PaymentContext = field(compare=False)
    fraud: FraudPattern | None = field(compare=False)


class _World:
    """The population and the random source; builds the planned payments."""

    def __init__(self, seed: int, payers_count: int) -> None:
        self.random = np.random.default_rng(seed)
        self.seed = seed
        self.sequence = 0
        self.merchants = [
            self._merchant(index)
            for index in range(max(20, int(payers_count * MERCHANTS_PER_PAYER)))
        ]
        self.payers = [self._payer(index) for index in range(payers_count)]

    def _merchant(self, index: int) -> _Merchant:
        mccs = sorted({mcc for persona in PERSONAS for mcc in persona.mccs} | set(HIGH_RISK_MCCS))
        return _Merchant(f"acct_sim{self.seed}m{index}", mccs[int(self.random.integers(len(mccs)))])

    def _payer(self, index: int) -> _Payer:
        random = self.random
        shares = np.array([persona.population_share for persona in PERSONAS])
        persona = PERSONAS[int(random.choice(len(PERSONAS), p=shares / shares.sum()))]
        city = CITIES[int(random.integers(len(CITIES)))]
        home = _jitter(random, city[1], city[2], HOME_JITTER_KM)
        # Most accounts are months or years old; a few opened days before the simulation.
        age_days = float(
            random.choice([random.uniform(1, 30), random.uniform(30, 2000)], p=[0.08, 0.92])
        )
        created_at = START_AT - timedelta(days=age_days)
        fitting = [i for i, merchant in enumerate(self.merchants) if merchant.mcc in persona.mccs]
        chosen = random.choice(
            fitting, size=min(len(fitting), persona.regular_merchants), replace=False
        )
        return _Payer(
            key=f"pyr_sim{self.seed}p{index}",
            persona=persona,
            home=home,
            created_at=created_at,
            device_id=f"dev_sim{self.seed}p{index}d0",
            device_bound_at=created_at + timedelta(hours=float(random.uniform(0, 2))),
            card_fingerprint=f"{self.seed:08x}{index:024x}",
            merchants=[int(each) for each in chosen],
            contacts=[],
        )

    def plan(self, at_s: float, context: PaymentContext, fraud: FraudPattern | None) -> _Planned:
        self.sequence += 1
        return _Planned(at_s, self.sequence, context, fraud)


def _jitter(
    random: np.random.Generator, latitude: float, longitude: float, km: float
) -> tuple[float, float]:
    return (
        latitude + float(random.normal(0, km / KM_PER_DEGREE)),
        longitude + float(random.normal(0, km / KM_PER_DEGREE)),
    )


def _at(at_s: float) -> datetime:
    return START_AT + timedelta(seconds=at_s)


def _amount_minor(random: np.random.Generator, median_rupees: float, sigma: float) -> int:
    rupees = median_rupees * math.exp(float(random.normal(0.0, sigma)))
    return min(AMOUNT_MINOR_MAX, max(AMOUNT_MINOR_MIN, round(rupees * 100)))


def _hour_weights(persona: Persona) -> np.ndarray:
    # A little activity all day, more in waking hours, most at the persona's peaks.
    weights = np.full(24, 0.03)
    weights[7:24] = 0.3
    weights[list(persona.peak_hours_ist)] = 1.0
    return np.asarray(weights / weights.sum())


def _location(payer: _Payer, at_s: float, random: np.random.Generator) -> tuple[float, float]:
    for start_s, end_s, latitude, longitude in payer.trips:
        if start_s <= at_s < end_s:
            return _jitter(random, latitude, longitude, 5.0)
    return _jitter(random, payer.home[0], payer.home[1], 5.0)


def _plan_payer(world: _World, payer: _Payer, planned: list[_Planned]) -> None:
    """A payer's ordinary payments over the simulated days, with phone changes and trips."""
    random = world.random
    persona = payer.persona
    hours = _hour_weights(persona)
    for day in range(SIMULATED_DAYS):
        day_s = day * 86_400.0
        if random.random() < DEVICE_CHANGE_PER_DAY:
            # A new phone is set up in the morning, before the day's payments.
            payer.device_bound_at = _at(day_s + float(random.uniform(0, 7 * 3600)))
            payer.device_id = f"{payer.key}d{day}"
        if random.random() < persona.trips_per_day:
            city = CITIES[int(random.integers(len(CITIES)))]
            end_s = day_s + float(random.uniform(1, 4)) * 86_400
            payer.trips.append((day_s + float(random.uniform(0, 86_400)), end_s, city[1], city[2]))
        for _ in range(int(random.poisson(persona.payments_per_day))):
            at_s = day_s + int(random.choice(24, p=hours)) * 3600 + float(random.uniform(0, 3600))
            context = _ordinary(world, payer, at_s)
            planned.append(world.plan(at_s, context, None))


def _ordinary(world: _World, payer: _Payer, at_s: float) -> PaymentContext:
    random = world.random
    persona = payer.persona
    amount = _amount_minor(random, persona.amount_rupees_median, persona.amount_log_sigma)
    draw = random.random()
    if draw < BIG_PURCHASE_SHARE:
        merchant = _merchant_with(world, ("5732", "5944", "7011", "4511", "5311"))
        amount = min(AMOUNT_MINOR_MAX, round(amount * float(random.uniform(5, 25))))
        return _merchant_payment(world, payer, at_s, merchant, amount)
    if draw < BIG_PURCHASE_SHARE + persona.p2p_share:
        if not payer.contacts or random.random() < persona.new_payee_share:
            payer.contacts.append(int(random.integers(len(world.payers))))
        contact = world.payers[payer.contacts[int(random.integers(len(payer.contacts)))]]
        return _p2p(world, payer, at_s, contact.key, amount, device_id=None)
    if random.random() < persona.new_payee_share:
        merchant = world.merchants[int(random.integers(len(world.merchants)))]
    else:
        merchant = world.merchants[payer.merchants[int(random.integers(len(payer.merchants)))]]
    return _merchant_payment(world, payer, at_s, merchant, amount)


def _merchant_with(world: _World, mccs: tuple[str, ...]) -> _Merchant:
    fitting = [merchant for merchant in world.merchants if merchant.mcc in mccs]
    pool = fitting or world.merchants
    return pool[int(world.random.integers(len(pool)))]


def _merchant_payment(
    world: _World,
    payer: _Payer,
    at_s: float,
    merchant: _Merchant,
    amount_minor: int,
    *,
    device_id: str | None = None,
    device_bound_at: datetime | None = None,
    location: tuple[float, float] | None = None,
) -> PaymentContext:
    random = world.random
    card = random.random() < payer.persona.card_share
    if card and random.random() < GUEST_CARD_SHARE:
        # A guest checkout: the card's fingerprint is the only payer key; no account, no device.
        return PaymentContext(
            payment_id=f"pi_sim{world.seed}n{world.sequence}",
            scope=merchant.key,
            livemode=False,
            rail=Rail.card,
            amount_minor=amount_minor,
            currency="INR",
            payer_key=payer.card_fingerprint,
            payee_key=merchant.key,
            occurred_at=_at(at_s),
            merchant_id=merchant.key,
            instrument_fingerprint=payer.card_fingerprint,
            mcc=merchant.mcc,
        )
    where = location or _location(payer, at_s, random)
    return PaymentContext(
        payment_id=f"pi_sim{world.seed}n{world.sequence}",
        scope=merchant.key,
        livemode=False,
        rail=Rail.card if card else Rail.upi,
        amount_minor=amount_minor,
        currency="INR",
        payer_key=payer.key,
        payee_key=merchant.key,
        occurred_at=_at(at_s),
        merchant_id=merchant.key,
        instrument_fingerprint=payer.card_fingerprint if card else None,
        device_id=device_id or payer.device_id,
        device_bound_at=device_bound_at if device_id else payer.device_bound_at,
        latitude=where[0],
        longitude=where[1],
        mcc=merchant.mcc,
        payer_created_at=payer.created_at,
    )


def _p2p(
    world: _World,
    payer: _Payer,
    at_s: float,
    payee_key: str,
    amount_minor: int,
    *,
    device_id: str | None,
    device_bound_at: datetime | None = None,
    location: tuple[float, float] | None = None,
) -> PaymentContext:
    where = location or _location(payer, at_s, world.random)
    return PaymentContext(
        payment_id=f"upi_sim{world.seed}n{world.sequence}",
        scope=payer.key,
        livemode=False,
        rail=Rail.upi,
        amount_minor=amount_minor,
        currency="INR",
        payer_key=payer.key,
        payee_key=payee_key,
        occurred_at=_at(at_s),
        device_id=device_id or payer.device_id,
        device_bound_at=device_bound_at if device_id else payer.device_bound_at,
        latitude=where[0],
        longitude=where[1],
        payer_created_at=payer.created_at,
    )


# Mean rows of one episode of each pattern, to turn a share of rows into a count of episodes.
EPISODE_ROWS_MEAN: Final[dict[FraudPattern, float]] = {
    FraudPattern.account_takeover: 4.0,
    FraudPattern.mule_fan_in: 22.0,
    FraudPattern.card_testing: 18.0,
    FraudPattern.amount_spike: 1.0,
}


def _episode_start_s(random: np.random.Generator, night_share: float) -> float:
    day = int(random.integers(FRAUD_START_DAY, SIMULATED_DAYS))
    hour = int(random.integers(0, 6)) if random.random() < night_share else int(random.integers(24))
    return day * 86_400.0 + hour * 3600 + float(random.uniform(0, 3600))


def _account_takeover(world: _World, episode: int, planned: list[_Planned]) -> None:
    """A stolen SIM on a new phone far from home: big payments to fresh mules within the hour."""
    random = world.random
    victim = world.payers[int(random.integers(len(world.payers)))]
    start_s = _episode_start_s(random, night_share=0.4)
    device_id = f"dev_sim{world.seed}ato{episode}"
    bound_at = _at(start_s - float(random.uniform(5, 90)) * 60)
    home_city = min(
        CITIES, key=lambda city: abs(city[1] - victim.home[0]) + abs(city[2] - victim.home[1])
    )
    others = [city for city in CITIES if city != home_city]
    city = others[int(random.integers(len(others)))]
    location = _jitter(random, city[1], city[2], 8.0)
    at_s = start_s
    for index in range(int(random.integers(2, 7))):
        amount = min(
            AMOUNT_MINOR_MAX,
            round(victim.persona.amount_rupees_median * 100 * float(random.uniform(10, 50))),
        )
        if random.random() < 0.85:
            mule = f"pyr_sim{world.seed}ato{episode}mule{index % 2}"
            context = _p2p(
                world,
                victim,
                at_s,
                mule,
                amount,
                device_id=device_id,
                device_bound_at=bound_at,
                location=location,
            )
        else:
            context = _merchant_payment(
                world,
                victim,
                at_s,
                _merchant_with(world, HIGH_RISK_MCCS),
                amount,
                device_id=device_id,
                device_bound_at=bound_at,
                location=location,
            )
        planned.append(world.plan(at_s, context, FraudPattern.account_takeover))
        at_s += float(random.uniform(2, 20)) * 60


def _mule_fan_in(world: _World, episode: int, planned: list[_Planned]) -> None:
    """Scam victims, each on their own phone at home, pay one new account within hours."""
    random = world.random
    start_s = _episode_start_s(random, night_share=0.05)
    mule = f"pyr_sim{world.seed}fan{episode}"
    victims = random.choice(len(world.payers), size=int(random.integers(12, 33)), replace=False)
    for index in victims:
        at_s = start_s + float(random.uniform(0, 6 * 3600))
        amount = _amount_minor(random, 4000.0, 0.7)
        context = _p2p(world, world.payers[int(index)], at_s, mule, amount, device_id=None)
        planned.append(world.plan(at_s, context, FraudPattern.mule_fan_in))


def _card_testing(world: _World, episode: int, planned: list[_Planned]) -> None:
    """A stolen card tried with a burst of tiny payments at digital-goods merchants."""
    random = world.random
    start_s = _episode_start_s(random, night_share=0.5)
    fingerprint = f"{world.seed:08x}c{episode:023x}"
    merchants = [
        _merchant_with(world, CARD_TESTING_MCCS) for _ in range(int(random.integers(1, 4)))
    ]
    device_id = f"dev_sim{world.seed}ct{episode}" if random.random() < 0.4 else None
    at_s = start_s
    for _ in range(int(random.integers(8, 29))):
        merchant = merchants[int(random.integers(len(merchants)))]
        amount = round(math.exp(float(random.uniform(0, math.log(150)))) * 100)
        context = PaymentContext(
            payment_id=f"pi_sim{world.seed}n{world.sequence}",
            scope=merchant.key,
            livemode=False,
            rail=Rail.card,
            amount_minor=max(AMOUNT_MINOR_MIN, amount),
            currency="INR",
            payer_key=fingerprint,
            payee_key=merchant.key,
            occurred_at=_at(at_s),
            merchant_id=merchant.key,
            instrument_fingerprint=fingerprint,
            device_id=device_id,
            device_bound_at=_at(start_s - 600) if device_id else None,
            mcc=merchant.mcc,
        )
        planned.append(world.plan(at_s, context, FraudPattern.card_testing))
        at_s += float(random.uniform(10, 120))


def _amount_spike(world: _World, episode: int, planned: list[_Planned]) -> None:
    """One payment many times the payer's usual, from their own phone, to someone new."""
    random = world.random
    payer = world.payers[int(random.integers(len(world.payers)))]
    at_s = _episode_start_s(random, night_share=0.5)
    amount = min(
        AMOUNT_MINOR_MAX,
        round(payer.persona.amount_rupees_median * 100 * float(random.uniform(15, 60))),
    )
    if random.random() < 0.4:
        context = _p2p(
            world, payer, at_s, f"pyr_sim{world.seed}spike{episode}", amount, device_id=None
        )
    else:
        merchant = _merchant_with(world, HIGH_RISK_MCCS)
        context = _merchant_payment(world, payer, at_s, merchant, amount)
    planned.append(world.plan(at_s, context, FraudPattern.amount_spike))


def _shop_opening(world: _World, opening: int, planned: list[_Planned]) -> None:
    """A new shop's first day: many payers new to it, legitimately (fan-in that is not fraud)."""
    random = world.random
    day = int(random.integers(1, SIMULATED_DAYS))
    merchant = _Merchant(
        f"acct_sim{world.seed}open{opening}", str(random.choice(["5812", "5814", "5411", "5691"]))
    )
    customers = random.choice(
        len(world.payers), size=min(len(world.payers), int(random.integers(10, 31))), replace=False
    )
    for index in customers:
        at_s = day * 86_400.0 + float(random.uniform(10, 21)) * 3600
        payer = world.payers[int(index)]
        amount = _amount_minor(random, payer.persona.amount_rupees_median, 0.6)
        planned.append(
            world.plan(at_s, _merchant_payment(world, payer, at_s, merchant, amount), None)
        )


_PATTERNS: Final = {
    FraudPattern.account_takeover: _account_takeover,
    FraudPattern.mule_fan_in: _mule_fan_in,
    FraudPattern.card_testing: _card_testing,
    FraudPattern.amount_spike: _amount_spike,
}


def _payers_for(rows: int) -> int:
    shares = sum(persona.population_share for persona in PERSONAS)
    rate = sum(p.population_share * p.payments_per_day for p in PERSONAS) / shares
    # A fifth more than needed: ordinary payments are then thinned to the exact count.
    # At least enough payers for the largest mule fan-in episode.
    return max(PAYERS_MIN, math.ceil(rows / (SIMULATED_DAYS * rate) * 1.2))


def payments(seed: int, rows: int) -> Iterator[SimulatedPayment]:
    """About ``rows`` payments in time order (exactly ``rows`` unless fraud alone exceeds it)."""
    invariant(ROWS_MIN <= rows <= ROWS_MAX, "the simulation's size is bounded")
    world = _World(seed, _payers_for(rows))
    fraud: list[_Planned] = []
    for pattern, plan in _PATTERNS.items():
        target_rows = rows * FRAUD_ROW_SHARE / len(_PATTERNS)
        for episode in range(max(1, round(target_rows / EPISODE_ROWS_MEAN[pattern]))):
            plan(world, episode, fraud)
    ordinary: list[_Planned] = []
    openings = max(1, round(len(world.payers) * NEW_SHOP_OPENINGS_PER_1000_PAYERS / 1000))
    for opening in range(openings):
        _shop_opening(world, opening, ordinary)
    for payer in world.payers:
        _plan_payer(world, payer, ordinary)
    wanted = max(0, rows - len(fraud))
    if len(ordinary) > wanted:
        kept = world.random.choice(len(ordinary), size=wanted, replace=False)
        ordinary = [ordinary[int(index)] for index in kept]
    for planned in sorted(fraud + ordinary):
        yield SimulatedPayment(planned.context, planned.fraud)


def simulate(seed: int, rows: int) -> Dataset:
    """The feature matrix and labels of a simulation, computed as production computes them."""
    history = MemoryHistory()
    features: list[list[float]] = []
    labels: list[int] = []
    patterns: list[str] = []
    for payment in payments(seed, rows):
        computed = compute(payment.context, history.read(payment.context))
        history.record(payment.context)
        features.append([computed[name] for name in FEATURE_NAMES])
        labels.append(0 if payment.fraud is None else 1)
        patterns.append("" if payment.fraud is None else payment.fraud.value)
    return Dataset(
        features=np.asarray(features, dtype=np.float64).reshape(len(features), len(FEATURE_NAMES)),
        labels=np.asarray(labels, dtype=np.int8),
        patterns=tuple(patterns),
        seed=seed,
    )
