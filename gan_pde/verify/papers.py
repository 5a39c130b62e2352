"""The five papers behind the checks, by authors, title and year (keyed by their file name).

The checks name a paper by its file in ``papers/`` (stable, unambiguous); the report shows a
reader the citation instead: :func:`citation` (``"Khrulkov, Babenko & Oseledets (2021)"``)
and :func:`full_citation` (authors, title, venue, year).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PAPERS", "Paper", "citation", "full_citation"]


@dataclass(frozen=True)
class Paper:
    """A paper of the reference set."""

    authors: tuple[str, ...]
    title: str
    year: int
    venue: str


PAPERS: dict[str, Paper] = {
    "000_001297c5b8e8fac9.txt": Paper(
        ("Cao", "Guo"),
        "SDE approximations of GANs training and its long-run behavior",
        2022,
        "preprint, version of 15 February 2022",
    ),
    "001_9f936d9ea3539524.txt": Paper(
        ("Delgadino", "Suassuna", "Cabrera"),
        "Generative adversarial networks: dynamics",
        2025,
        "Journal of Machine Learning Research 26",
    ),
    "002_23f38a2e8812e8cd.txt": Paper(
        ("Huang", "Zhang"),
        "GANs as gradient flows that converge",
        2022,
        "talk slides; arXiv:2205.02910",
    ),
    "003_7228486c1e8942b0.txt": Paper(
        ("Turinici",),
        "Convergence dynamics of generative adversarial networks: the dual metric flows",
        2021,
        "preprint, version of 10 January 2021",
    ),
    "004_b60ab6f9ea7d1f5e.txt": Paper(
        ("Khrulkov", "Babenko", "Oseledets"),
        "Functional space analysis of local GAN convergence",
        2021,
        "ICML 2021",
    ),
}


def _authors(paper: Paper) -> str:
    names = paper.authors
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " & " + names[-1]


def citation(key: str) -> str:
    """``"Authors (year)"`` for a paper's file name; the key itself if it is not one of
    the five (a user's own check).

    >>> citation("004_b60ab6f9ea7d1f5e.txt")
    'Khrulkov, Babenko & Oseledets (2021)'
    """
    paper = PAPERS.get(key)
    return key if paper is None else f"{_authors(paper)} ({paper.year})"


def full_citation(key: str) -> str:
    """``"Authors, "Title", venue, year."`` for a paper's file name (the key if unknown)."""
    paper = PAPERS.get(key)
    if paper is None:
        return key
    venue = paper.venue if str(paper.year) in paper.venue else f"{paper.venue}, {paper.year}"
    return f'{_authors(paper)}, "{paper.title}", {venue}.'
