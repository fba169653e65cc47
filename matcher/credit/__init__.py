"""Factory credit from what factories did: trade records, a Bayesian score, and the
records an executed plan yields (docs/credit.md).

It imports the domain only (and numpy), beside the generator, the checker and the
report: the CLI asks it, nothing below it does.
"""

from __future__ import annotations

from matcher.credit.beta import beta_cdf, beta_interval, beta_quantile
from matcher.credit.execution import (
    ExecutedDelivery,
    Execution,
    execution_records,
    load_execution,
    parse_execution,
)
from matcher.credit.records import (
    RecordsError,
    TradeRecord,
    parse_records,
    period_end_date,
    read_records,
    write_records,
)
from matcher.credit.scoring import (
    Applied,
    CreditExplanation,
    CreditParams,
    CreditReport,
    FactoryCredit,
    apply_credit,
    explain_factory,
    prior_credit,
    score_records,
)

__all__ = [
    "Applied",
    "CreditExplanation",
    "CreditParams",
    "CreditReport",
    "ExecutedDelivery",
    "Execution",
    "FactoryCredit",
    "RecordsError",
    "TradeRecord",
    "apply_credit",
    "beta_cdf",
    "beta_interval",
    "beta_quantile",
    "execution_records",
    "explain_factory",
    "load_execution",
    "parse_execution",
    "parse_records",
    "period_end_date",
    "prior_credit",
    "read_records",
    "score_records",
    "write_records",
]
