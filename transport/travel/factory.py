"""The one travel-model factory: a scenario's ``[travel]`` settings → a :class:`TravelModel`.

Every command and the compare engine build their travel model here, from the settings objects
of :mod:`transport.scenario` (which have already checked them), never from option names.
"""

from __future__ import annotations

from pathlib import Path

from transport.errors import TravelModelError
from transport.model import TravelParams
from transport.scenario import NetworkSettings
from transport.travel.crowfly import CrowFlyModel, TravelModel


def travel_model(
    network: NetworkSettings,
    params: TravelParams,
    *,
    cache_dir: str | Path | None = None,
    workers: int | None = None,
    data_dir: str | Path | None = None,
) -> TravelModel:
    """The travel model of a scenario's ``[travel]`` settings.

    Parameters
    ----------
    network
        ``crow-fly`` (the contract's model with ``params``), ``osm`` with exactly one map
        (``graphml``, ``osm_file`` or ``osm_place``) and a peak factor, or ``matrix``: the
        council's own travel matrix in the file ``matrix`` (default ``data_dir/travel.csv``;
        see :mod:`transport.travel.matrix`).
    params
        Circuity, speed and dwell; the road network uses the dwell only.
    cache_dir
        Road graphs and computed node pairs (default ``$SEN_TRANSPORT_CACHE`` or
        ``~/.cache/sen-transport``).
    workers
        Worker processes of the road network's path trees (see
        :class:`~transport.travel.network.RoadNetworkModel`).
    data_dir
        The data folder, where ``travel.csv`` is looked for when no matrix file is named.

    Raises
    ------
    TravelModelError
        A missing or unreadable map file, or a place that cannot be downloaded.

    Examples
    --------
    >>> travel_model(NetworkSettings(), TravelParams(circuity=1.4)).describe()["circuity"]
    1.4
    """
    if network.network == "crow-fly":
        return CrowFlyModel(params)
    if network.network == "matrix":
        from transport.travel.matrix import MatrixModel

        path = network.matrix or (Path(data_dir) / "travel.csv" if data_dir is not None else None)
        if path is None:
            raise TravelModelError(
                'travel.network = "matrix" needs the matrix file (travel.matrix, --matrix)'
            )
        return MatrixModel.from_csv(path, dwell_min=params.dwell_min)
    if network.network == "osm":
        from transport.travel.network import RoadNetworkModel, load_road_graph

        graph = load_road_graph(
            osm_file=network.osm_file,
            place=network.osm_place,
            graphml=network.graphml,
            cache_dir=cache_dir,
        )
        return RoadNetworkModel(
            graph,
            dwell_min=params.dwell_min,
            peak_factor=network.peak_factor,
            cache_dir=cache_dir,
            workers=workers,
        )
    raise TravelModelError(f"no travel model for network {network.network!r}")
