"""Static facts behind the synthetic Kent data set (see ``data/kent/README.md``).

Sources: the Kent SEND Strategy (2013) and public school records as summarised in the project's
domain notes (special-school URNs, postcodes and designations; resourced provisions; district
populations); Census 2021 district populations; the DfE national need mix of pupils with EHC
plans (January 2024). Figures marked *assumed* are the generator's own plausible choices.
Nothing here describes a real pupil.
"""

from __future__ import annotations

from typing import NamedTuple


class District(NamedTuple):
    code: str
    name: str
    population: int
    lat: float
    lon: float


DISTRICTS: tuple[District, ...] = (
    District("E07000105", "Ashford", 132_700, 51.147, 0.868),
    District("E07000106", "Canterbury", 157_429, 51.275, 1.087),
    District("E07000107", "Dartford", 116_800, 51.474, 0.254),
    District("E07000108", "Dover", 116_400, 51.130, 1.309),
    District("E07000109", "Gravesham", 106_900, 51.442, 0.369),
    District("E07000110", "Maidstone", 175_800, 51.272, 0.529),
    District("E07000111", "Sevenoaks", 120_500, 51.272, 0.190),
    District("E07000112", "Folkestone and Hythe", 109_800, 51.081, 1.166),
    District("E07000113", "Swale", 151_700, 51.336, 0.740),
    District("E07000114", "Thanet", 140_600, 51.385, 1.384),
    District("E07000115", "Tonbridge and Malling", 132_200, 51.199, 0.276),
    District("E07000116", "Tunbridge Wells", 115_300, 51.132, 0.263),
)
"""Census 2021 population and main-town point of the 12 Kent districts."""

DISTRICT_WEIGHT_UPLIFT: dict[str, float] = {"Swale": 1.3, "Thanet": 1.3}
"""Swale and Thanet have the largest concentrations of disabled children (strategy, 2013)."""

OTHER_AUTHORITIES: dict[str, str] = {
    "E06000035": "Medway",
    "E09000004": "Bexley",
    "E09000006": "Bromley",
    "E07000062": "Hastings",
    "E07000064": "Rother",
    "E07000065": "Wealden",
    "E07000215": "Tandridge",
}
"""Districts just outside Kent that take Kent pupils (Medway, London, East Sussex, Surrey)."""

DESIGNATION_NEEDS: dict[str, str] = {
    "PSCN": "SLD;PMLD;MSI;PD;MLD;VI;OTH",
    "C&I": "ASD;SLCN;SpLD",
    "SEMH": "SEMH",
    "PD": "PD;MSI;VI",
}


class SpecialSchool(NamedTuple):
    urn: str
    name: str
    town: str
    postcode: str
    designation: str
    capacity: int
    age_min: int
    age_max: int


# Capacities are *assumed* (Five Acre Wood's 330 is given) and sum to the strategy's 3,491
# special-school places, over half of them PSCN.
SPECIAL_SCHOOLS: tuple[SpecialSchool, ...] = (
    # PSCN: profound, severe and complex needs
    SpecialSchool("118459", "Whitfield Aspen School", "Dover", "CT16 3LJ", "PSCN", 150, 4, 19),
    SpecialSchool("119044", "The Beacon", "Folkestone", "CT19 5DN", "PSCN", 150, 4, 19),
    SpecialSchool("119055", "Five Acre Wood School", "Maidstone", "ME15 9QF", "PSCN", 330, 4, 19),
    SpecialSchool("119041", "Foreland Fields School", "Ramsgate", "CT12 6RH", "PSCN", 150, 4, 19),
    SpecialSchool("119040", "Ifield School", "Gravesend", "DA12 5JT", "PSCN", 140, 4, 19),
    SpecialSchool("134783", "Meadowfield School", "Sittingbourne", "ME10 4NL", "PSCN", 140, 4, 19),
    SpecialSchool("137883", "Milestone Academy", "Longfield", "DA3 8JZ", "PSCN", 140, 4, 19),
    SpecialSchool("119050", "Nexus Foundation", "Tonbridge", "TN11 8AA", "PSCN", 90, 4, 19),
    SpecialSchool("132148", "Oakley School", "Tunbridge Wells", "TN2 4NE", "PSCN", 120, 4, 19),
    SpecialSchool("119059", "St Nicholas' School", "Canterbury", "CT1 3JJ", "PSCN", 130, 4, 19),
    SpecialSchool("131748", "The Wyvern School", "Ashford", "TN23 4ER", "PSCN", 130, 4, 19),
    # The 24th school: URN and postcode are synthetic stand-ins (a real TN10 postcode, Tonbridge).
    SpecialSchool("118987", "Ridge View School", "Tonbridge", "TN10 4PT", "PSCN", 90, 4, 19),
    # C&I: communication and interaction (ASD, SLCN)
    SpecialSchool("119056", "Stone Bay School", "Broadstairs", "CT10 1EB", "C&I", 70, 11, 19),
    SpecialSchool("134971", "Laleham Gap School", "Ramsgate", "CT12 6FH", "C&I", 245, 4, 16),
    SpecialSchool(
        "119026", "Broomhill Bank School", "Tunbridge Wells", "TN3 0TB", "C&I", 160, 11, 19
    ),
    SpecialSchool("119051", "Grange Park School", "Sevenoaks", "TN15 7RD", "C&I", 140, 4, 19),
    SpecialSchool("147870", "Snowfields Academy", "Maidstone", "ME14 5GA", "C&I", 230, 4, 19),
    SpecialSchool("147833", "Aspire School", "Sittingbourne", "ME10 5DA", "C&I", 180, 4, 19),
    # SEMH: social, emotional and mental health (formerly BESN/BESD)
    SpecialSchool("119036", "Bower Grove School", "Maidstone", "ME16 8NL", "SEMH", 140, 4, 19),
    SpecialSchool("119037", "St Anthony's School", "Margate", "CT9 3RA", "SEMH", 95, 4, 19),
    SpecialSchool("119058", "The Orchard School", "Canterbury", "CT1 3QQ", "SEMH", 80, 4, 19),
    SpecialSchool("119045", "Rowhill School", "Longfield", "DA3 7PW", "SEMH", 125, 4, 19),
    SpecialSchool("119046", "Elms School", "Dover", "CT17 9PS", "SEMH", 66, 4, 19),
    SpecialSchool("119042", "Goldwyn School", "Ashford", "TN23 3BT", "SEMH", 60, 11, 16),
    SpecialSchool("119062", "Portal House School", "Dover", "CT15 6SS", "SEMH", 60, 11, 16),
    # PD: physical disability
    SpecialSchool("119032", "Valence School", "Westerham", "TN16 1QN", "PD", 80, 4, 19),
)


class Resourced(NamedTuple):
    name: str
    town: str
    need: str
    capacity: int
    lat: float
    lon: float


# Listed in the domain notes (capacity as given; Tymberwood's capacity is *assumed*). No
# postcode is given: each takes a real postcode near the town point below (*assumed*, rounded
# from public maps), chosen deterministically from the ONS Postcode Directory.
RESOURCED_LISTED: tuple[Resourced, ...] = (
    Resourced("Cage Green Primary School", "Tonbridge", "ASD", 31, 51.208, 0.283),
    Resourced("Joy Lane Primary School", "Whitstable", "ASD", 30, 51.355, 1.008),
    Resourced("Langafel CE Primary School", "Longfield", "ASD", 20, 51.396, 0.300),
    Resourced("Ashford Oaks Primary School", "Ashford", "ASD", 8, 51.141, 0.857),
    Resourced("Oakfield Primary Academy", "Dartford", "ASD", 14, 51.437, 0.214),
    Resourced("Canterbury Primary School", "Canterbury", "ASD", 12, 51.274, 1.068),
    Resourced("Langley Park Primary Academy", "Maidstone", "ASD", 11, 51.248, 0.560),
    Resourced("Kings Farm Primary School", "Gravesend", "ASD", 10, 51.428, 0.367),
    Resourced(
        "Valley Invicta Primary School at Kings Hill", "Kings Hill", "ASD", 10, 51.274, 0.400
    ),
    Resourced("Fleetdown Primary Academy", "Dartford", "HI", 13, 51.436, 0.236),
    Resourced("Castle Hill Community Primary School", "Folkestone", "HI", 5, 51.090, 1.170),
    Resourced("Slade Primary School", "Tonbridge", "HI", 5, 51.199, 0.272),
    Resourced("Bishops Down Primary School", "Tunbridge Wells", "PD", 7, 51.134, 0.250),
    Resourced("Tymberwood Academy", "Gravesend", "PD", 8, 51.425, 0.380),
)

# The other 33 units (*assumed*) to make the strategy's 47, spread over the districts: ASD the
# most common, and deliberately few ASD places in Thanet, Swale and Dover, where demand is high.
RESOURCED_EXTRA: dict[str, tuple[tuple[str, str], ...]] = {
    "Ashford": (("ASD", "secondary"), ("SLCN", "primary"), ("PD", "primary")),
    "Canterbury": (("ASD", "secondary"), ("HI", "primary"), ("SLCN", "primary")),
    "Dartford": (("ASD", "secondary"), ("SLCN", "secondary")),
    "Dover": (("ASD", "primary"), ("ASD", "secondary"), ("PD", "primary")),
    "Folkestone and Hythe": (("ASD", "primary"), ("ASD", "secondary"), ("SLCN", "primary")),
    "Gravesham": (("ASD", "secondary"), ("SLCN", "primary")),
    "Maidstone": (
        ("ASD", "primary"),
        ("ASD", "secondary"),
        ("HI", "secondary"),
        ("PD", "secondary"),
    ),
    "Sevenoaks": (("ASD", "primary"), ("ASD", "secondary"), ("SLCN", "primary")),
    "Swale": (("ASD", "primary"), ("SLCN", "primary")),
    "Thanet": (("ASD", "secondary"), ("HI", "secondary"), ("PD", "primary")),
    "Tonbridge and Malling": (("ASD", "secondary"), ("SLCN", "primary")),
    "Tunbridge Wells": (("ASD", "primary"), ("ASD", "secondary"), ("SLCN", "secondary")),
}

RESOURCED_CAPACITY: dict[str, tuple[int, int]] = {
    "ASD": (10, 22),
    "SLCN": (8, 15),
    "HI": (10, 16),
    "PD": (5, 10),
}
"""Inclusive range of places of a generated unit, by need (*assumed*)."""


class Independent(NamedTuple):
    key: str
    name: str
    district_code: str
    lat: float
    lon: float
    needs: str
    capacity: int
    place_cost: float
    arrive_by: str


# Independent and non-maintained schools (*assumed*, generic names: none is a real school).
# Fees: day £30,000, boarding £50,000, the most complex £200,000 (strategy, 2013).
# fmt: off
INDEPENDENT: tuple[Independent, ...] = (
    Independent("IND01", "Independent special school (ASD), Faversham", "E07000113",
                51.316, 0.891, "ASD;SLCN", 40, 30_000, "09:15"),
    Independent("IND02", "Independent special school (SEMH), Herne Bay", "E07000106",
                51.370, 1.128, "SEMH", 40, 30_000, "09:15"),
    Independent("IND03", "Independent special school (ASD and SEMH), Ashford", "E07000105",
                51.170, 0.800, "ASD;SEMH;SLCN;HI", 35, 30_000, "09:00"),
    Independent("IND04", "Non-maintained special school (ASD), Sevenoaks", "E07000111",
                51.280, 0.180, "ASD;SLCN;SpLD", 35, 30_000, "09:00"),
    Independent("IND05", "Independent boarding school (SEMH), Cranbrook", "E07000116",
                51.096, 0.534, "SEMH", 30, 50_000, "09:30"),
    Independent("IND06", "Independent special school (ASD), Chatham", "E06000035",
                51.370, 0.527, "ASD;SLCN", 55, 30_000, "09:15"),
    Independent("IND07", "Independent special school (SEMH), Rochester", "E06000035",
                51.388, 0.505, "SEMH", 40, 30_000, "09:15"),
    Independent("IND08", "Independent special school, Sidcup", "E09000004",
                51.425, 0.103, "*", 50, 30_000, "09:00"),
    Independent("IND09", "Independent special school (ASD), Bromley", "E09000006",
                51.406, 0.015, "ASD;SLCN;SpLD", 35, 30_000, "09:15"),
    Independent("IND10", "Non-maintained boarding school, Crowborough", "E07000065",
                51.060, 0.163, "*", 30, 50_000, "09:30"),
    Independent("IND11", "Independent special school (SEMH), Hastings", "E07000062",
                50.860, 0.575, "SEMH", 35, 30_000, "09:15"),
    Independent("IND12", "Independent boarding school (ASD), Oxted", "E07000215",
                51.257, -0.005, "ASD;SLCN", 25, 50_000, "09:30"),
    Independent("IND13", "Independent residential school (complex needs), West Malling",
                "E07000115", 51.293, 0.409, "PMLD;SLD;MSI", 4, 200_000, "09:30"),
)
# fmt: on

NATIONAL_NEED_MIX: dict[str, float] = {
    "ASD": 33.0,
    "SLCN": 19.5,
    "SEMH": 15.5,
    "MLD": 8.5,
    "SLD": 7.9,
    "SpLD": 4.3,
    "PD": 3.6,
    "PMLD": 2.5,
    "OTH": 2.2,
    "HI": 1.6,
    "VI": 1.0,
    "MSI": 0.3,
}
"""Primary need of pupils with EHC plans, England, January 2024 (per cent)."""

TRANSPORT_FACTOR: dict[str, float] = {
    "ASD": 0.80,
    "SLCN": 0.42,
    "SEMH": 1.1,
    "MLD": 1.3,
    "SLD": 1.7,
    "SpLD": 0.4,
    "PD": 1.3,
    "PMLD": 1.8,
    "OTH": 1.8,
    "HI": 0.8,
    "VI": 1.0,
    "MSI": 1.8,
}
"""*Assumed* relative likelihood that a pupil with this need travels on SEN transport.

The national mix counts every pupil with an EHC plan, most of them in mainstream schools that
need no transport (many SLCN and SpLD pupils); pupils who travel are mostly in special
schools, over half of whose places are PSCN. The data set's mix is the national mix times
these factors, normalised.
"""

AGE_WEIGHTS: dict[int, float] = {
    4: 0.5, 5: 0.9, 6: 1.0, 7: 1.0, 8: 1.0, 9: 1.05, 10: 1.05, 11: 1.1, 12: 1.1,
    13: 1.1, 14: 1.05, 15: 1.0, 16: 0.65, 17: 0.5, 18: 0.35, 19: 0.2,
}  # fmt: skip
"""Relative number of pupils by age (*assumed*): fewer at 4 and at 16-19."""

WHEELCHAIR_RATE: dict[str, float] = {"PMLD": 0.60, "PD": 0.45, "MSI": 0.20, "SLD": 0.12}
NEEDS_PA_RATE: dict[str, float] = {
    "PMLD": 0.80,
    "SLD": 0.45,
    "PD": 0.35,
    "SEMH": 0.25,
    "ASD": 0.20,
    "MSI": 0.10,
    "OTH": 0.10,
    "MLD": 0.08,
    "VI": 0.08,
    "SLCN": 0.06,
    "HI": 0.05,
    "SpLD": 0.05,
}
SOLO_RATE: dict[str, float] = {"SEMH": 0.26, "ASD": 0.13, "PMLD": 0.06}
"""Share of pupils of a need who must travel alone (*assumed split*, sourced total).

The total is calibrated to a published figure: Staffordshire County Council carries 2,890
SEND pupils, 290 of them (10.0 %) in single-occupancy vehicles (Express & Star, 15 Dec 2025,
https://www.expressandstar.com/news/education/2025/12/15/staffordshire-county-council-racked-up-a-72000-taxi-bill-for-one-send-pupil);
the NAO (Home to school transport, 31 Oct 2025; press release at
https://www.parliamenttoday.com/free/viewnews.html?id=168949) reports "the use of smaller and
single occupancy vehicles is increasing". The split by need (SEMH and ASD far more often
alone) is *assumed*: with the data set's need mix these rates give about 10 % in all.
"""
OTHER_WHEELCHAIR_RATE = 0.01
OTHER_SOLO_RATE = 0.03
MAX_RIDE_SET_RATE = 0.02
"""Share of pupils with their own ``max_ride_min`` (30-60 minutes); the rest use the default."""

SOLO_SHARE_RANGE: tuple[float, float] = (0.08, 0.12)
"""Documented range of the data set's solo share (target 10 %, Staffordshire 2025)."""
WHEELCHAIR_SHARE_RANGE: tuple[float, float] = (0.05, 0.10)
"""Documented range of the wheelchair share (*assumed*, about 7.5 %)."""
PA_SHARE_RANGE: tuple[float, float] = (0.20, 0.30)
"""Documented range of the passenger-assistant share (*assumed*, about 24 %)."""
POST16_SHARE_RANGE: tuple[float, float] = (0.09, 0.16)
"""Documented range of the share aged 16-19.

Kent allocated SEN transport to 7,384 pupils in 2021-22, 863 of them (11.7 %) college
students (Isle of Thanet News, 26 Jul 2022, https://theisleofthanetnews.com/2022/07/26/county-councils-urgent-appeal-for-send-transport-applications-to-be-submitted/);
post-16 pupils in special-school sixth forms come on top, so 16-19 year olds are 12-13 %
of the data set (``AGE_WEIGHTS``).
"""

# --------------------------------------------------------------------------------------------
# Homes and siblings

HOUSEHOLDS_PER_POSTCODE = 1
"""At most one household of the data set per unit postcode.

The directory carries no population or household counts (only postcode, easting, northing
and district), so a home is drawn in two steps: the district in proportion to its Census
2021 population (Swale and Thanet × 1.3), then a unit postcode of that district uniformly,
without replacement. A unit postcode holds about 15 addresses, so a uniform draw over
postcodes is close to a draw over addresses: dense towns have many postcodes, the Weald few.
With ~4,200 pupils among ~63,000 Kent postcodes a draw with replacement would put two
households in one postcode about 140 times; forbidding it changes nothing material and keeps
every home a separate address. (Only a data set of more than about 45,000 pupils, when a
district has run out of postcodes, puts a second household in a postcode.)
"""
MAX_SIBLINGS = 3
"""Largest sibling group (pupils of one household on SEN transport to one school)."""
MAX_PUPILS_PER_POSTCODE = HOUSEHOLDS_PER_POSTCODE * MAX_SIBLINGS
"""Cap on pupils whose home is in one unit postcode (a household of up to 3 siblings)."""
SIBLING_SHARE = 0.05
"""Share of pupils who travel with a sibling to the same school (*assumed*, no source found).

Siblings share a home and a ``stop_id`` (one pickup). Autism recurs in about 1 in 5 younger
siblings of autistic children (Ozonoff et al. 2011, Pediatrics 128(3):e488,
https://doi.org/10.1542/peds.2010-2825), but no council publishes how many SEN-transport
pupils travel with a sibling to the same school; 5 % is assumed and its effect shown in
data/kent/README.md (sensitivity at half and one and a half times).
"""
TRIPLE_SHARE = 0.1
"""Share of sibling-group pupils in groups of three (*assumed*); the rest are pairs."""
SIBLING_AGE_BANDS: tuple[tuple[int, int], ...] = ((4, 10), (11, 15), (16, 19))
"""A sibling's age is drawn in the lead pupil's phase (primary, secondary, post-16)."""
SIBLING_SHARE_RANGE: tuple[float, float] = (0.03, 0.07)
"""Documented range of the achieved sibling share (groups split by placement are dissolved)."""

JITTER_MIN_M = 10.0
JITTER_MAX_M = 200.0
"""A home lies within its postcode: the postcode point moved by a uniform draw in a disc of
radius half the distance to the nearest other postcode point, kept within 10-200 m (a unit
postcode spans about 50-100 m in towns and more in the country). No two homes coincide."""

# --------------------------------------------------------------------------------------------
# School bell times

SPECIAL_ARRIVE_BY: tuple[tuple[str, float], ...] = (
    ("08:45", 0.25),
    ("08:50", 0.15),
    ("09:00", 0.45),
    ("09:15", 0.15),
)
"""Special schools' start (``arrive_by``), *assumed*: most Kent special schools open 08:45-09:15."""
SPECIAL_DAY_MINUTES: tuple[tuple[int, float], ...] = ((360, 0.3), (375, 0.3), (390, 0.4))
"""Length of a special school's day (6 h - 6 h 30).

DfE, Length of the school week: minimum expectation (non-statutory guidance, July 2023,
https://www.gov.uk/government/publications/length-of-the-school-week-minimum-expectation):
32.5 hours a week, 6 h 30 a day; it has a section on specialist settings, many of whose days
are shorter to fit transport (the split is *assumed*).
"""
RESOURCED_ARRIVE_BY: tuple[tuple[str, float], ...] = (
    ("08:40", 0.2),
    ("08:45", 0.35),
    ("08:50", 0.3),
    ("08:55", 0.15),
)
"""Mainstream schools' start, *assumed* 08:40-08:55."""
MAINSTREAM_DAY_MINUTES = 390
"""A mainstream day is 6 h 30 (DfE 32.5-hour week, above)."""
SHORT_DAY_SHARE: dict[str, float] = {"primary": 0.05, "secondary": 0.18}
"""Share of mainstream schools that finish before 15:00: 1 in 20 primaries, 18 % of
secondaries (Teacher Tapp, in Schools Week, 12 Jul 2021,
https://schoolsweek.co.uk/research-how-long-actually-is-the-school-day/)."""
INDEPENDENT_DAY_MINUTES = 375
"""Independent special schools' day, *assumed* 6 h 15."""
