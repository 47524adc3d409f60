// validate(const open_ended_config&): every field of an open-ended config checked, each bad one named.
// Apart from the run itself so that the checkpoint decoder (checkpoint.cpp) builds without the
// optimizer, as the fuzz target of its format does (tests/fuzz/fuzz_open_ended_checkpoint.cpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "diffevo/error.hpp"
#include "diffevo/open_ended.hpp"
#include "host/open_ended/expand.hpp"
#include "host/util/message.hpp"

namespace diffevo {
namespace {

/// validate() of a config the run builds later (a local cycle, a local restart), with what it stands
/// for before the message: the run would otherwise fail when it gets there.
void validate_later(const config& c, const std::string& what) {
  try {
    validate(c);
  } catch (const invalid_argument& x) {
    throw invalid_argument(detail::msg(what, ": ", x.what()));
  }
}

}  // namespace

void validate(const open_ended_config& c) {
  validate(c.run);
  const int d = c.run.dimension;
  const std::vector<float> unit = detail::expand(c.run.scale, d, 1.0f);  // run.scale in every dimension
  DIFFEVO_EXPECTS(c.lower.empty() == c.upper.empty(), invalid_argument, "lower has ", c.lower.size(),
                  " values and upper ", c.upper.size(), ": give both or neither");
  for (const auto* v : {&c.lower, &c.upper})
    DIFFEVO_EXPECTS(v->empty() || v->size() == 1 || v->size() == static_cast<std::size_t>(d), invalid_argument,
                    v == &c.lower ? "lower" : "upper", " has ", v->size(), " values; give 0, 1 or dimension = ", d);
  if (!c.lower.empty()) {
    const std::vector<double> lo = detail::expand(c.lower, d, 0.0), hi = detail::expand(c.upper, d, 0.0);
    for (int j = 0; j < d; ++j)
      DIFFEVO_EXPECTS(std::isfinite(lo[j]) && std::isfinite(hi[j]) && lo[j] < hi[j], invalid_argument, "the box is empty in dimension ",
                      j, ": lower = ", lo[j], ", upper = ", hi[j], " (need finite lower < upper)");
    const std::vector<float> center = detail::expand(c.run.center, d, 0.0f);
    for (int j = 0; j < d; ++j) {
      const double fmax = std::numeric_limits<float>::max();
      DIFFEVO_EXPECTS(std::fabs(lo[j]) <= fmax && std::fabs(hi[j]) <= fmax, invalid_argument, "the box in dimension ", j,
                      ": lower = ", lo[j], ", upper = ", hi[j], " is beyond float range (the points are floats)");
      float first = static_cast<float>(lo[j]);  // the box's smallest float
      if (first < lo[j]) first = std::nextafter(first, std::numeric_limits<float>::infinity());
      DIFFEVO_EXPECTS(first <= hi[j], invalid_argument, "the box in dimension ", j, ": lower = ", lo[j], ", upper = ",
                      hi[j], " holds no float (the points are floats)");
      // every point of the box enters the population (folded into it): the parameter map must hold it
      const double reach = std::max(std::fabs(lo[j] - center[j]), std::fabs(hi[j] - center[j])) / unit[j];
      DIFFEVO_EXPECTS(reach <= k_max_abs_x, invalid_argument, "the box in dimension ", j, ": lower = ", lo[j],
                      ", upper = ", hi[j], " reaches ", reach, " run.scale from run.center (", center[j], ", scale ",
                      unit[j], "); the population holds points within k_max_abs_x = ", k_max_abs_x,
                      " (move run.center into the box or raise run.scale)");
    }
  }
  detail::expect_enum<invalid_argument>(c.bounds, "bounds", 3, "reflect, clip or penalize (0-2)");
  detail::expect_enum<invalid_argument>(c.shaping, "shaping", 2, "none or rank (0-1)");
  DIFFEVO_EXPECTS(std::isfinite(c.penalty) && c.penalty >= 0, invalid_argument, "penalty = ", c.penalty,
                  " must be finite and >= 0");
  DIFFEVO_EXPECTS(std::isfinite(c.rank_temperature) && c.rank_temperature > 0, invalid_argument,
                  "rank_temperature = ", c.rank_temperature, " must be finite and > 0");
  DIFFEVO_EXPECTS(c.continuations >= 0, invalid_argument, "continuations = ", c.continuations, " must be >= 0");
  DIFFEVO_EXPECTS(c.continue_at == -1 || (c.continue_at >= 0 && c.continue_at <= c.run.steps - 2), invalid_argument,
                  "continue_at = ", c.continue_at, " must be -1 or in [0, ", c.run.steps - 2, "]");
  DIFFEVO_EXPECTS(c.restarts >= -1, invalid_argument, "restarts = ", c.restarts, " must be >= -1 (-1: unlimited)");
  DIFFEVO_EXPECTS(c.restarts != -1 || c.max_evaluations > 0 || c.max_seconds > 0 || !std::isnan(c.target),
                  invalid_argument, "restarts = -1 (unlimited) needs a stopping criterion: max_evaluations, "
                  "max_seconds or target (none is set, so the run would never end)");
  DIFFEVO_EXPECTS(std::isfinite(c.population_growth) && c.population_growth >= 1, invalid_argument,
                  "population_growth = ", c.population_growth, " must be finite and >= 1");
  DIFFEVO_EXPECTS(std::isfinite(c.restart_scale) && c.restart_scale >= 0, invalid_argument, "restart_scale = ",
                  c.restart_scale, " must be finite and >= 0");
  DIFFEVO_EXPECTS(c.restart_scale == 0 || !c.lower.empty(), invalid_argument, "restart_scale = ", c.restart_scale,
                  " needs a box (lower and upper): local restarts are centred at random points of it");
  DIFFEVO_EXPECTS(c.max_population >= c.run.population, invalid_argument, "max_population = ", c.max_population,
                  " must be >= population = ", c.run.population);
  DIFFEVO_EXPECTS(std::isfinite(c.archive_radius) && c.archive_radius >= 0, invalid_argument, "archive_radius = ",
                  c.archive_radius, " must be finite and >= 0");
  DIFFEVO_EXPECTS(!std::isnan(c.archive_tolerance) && c.archive_tolerance >= 0, invalid_argument,
                  "archive_tolerance = ", c.archive_tolerance, " must be >= 0");
  DIFFEVO_EXPECTS(c.max_evaluations == 0 || c.max_evaluations >= c.run.population, invalid_argument,
                  "max_evaluations = ", c.max_evaluations, " is less than one population (", c.run.population,
                  "); use 0 for no budget");
  DIFFEVO_EXPECTS(c.max_evaluations >= 0, invalid_argument, "max_evaluations = ", c.max_evaluations, " must be >= 0");
  DIFFEVO_EXPECTS(!std::isnan(c.max_seconds) && c.max_seconds >= 0, invalid_argument, "max_seconds = ",
                  c.max_seconds, " must be >= 0");
  DIFFEVO_EXPECTS(c.flat_generations >= 0, invalid_argument, "flat_generations = ", c.flat_generations, " must be >= 0");
  DIFFEVO_EXPECTS(std::isfinite(c.flat_tolerance) && c.flat_tolerance >= 0, invalid_argument, "flat_tolerance = ",
                  c.flat_tolerance, " must be finite and >= 0");
  DIFFEVO_EXPECTS(c.refine_levels >= 0, invalid_argument, "refine_levels = ", c.refine_levels, " must be >= 0");
  DIFFEVO_EXPECTS(std::isfinite(c.refine_scale) && c.refine_scale > 0, invalid_argument, "refine_scale = ",
                  c.refine_scale, " must be finite and > 0");
  DIFFEVO_EXPECTS(c.refine_shrink > 0 && c.refine_shrink <= 1, invalid_argument, "refine_shrink = ", c.refine_shrink,
                  " must be in (0, 1]");
  DIFFEVO_EXPECTS(c.refine_population >= 2, invalid_argument, "refine_population = ", c.refine_population,
                  " must be >= 2");
  DIFFEVO_EXPECTS(c.refine_steps >= 2 && c.refine_steps <= k_max_steps, invalid_argument, "refine_steps = ",
                  c.refine_steps, " must be in [2, ", k_max_steps, "]");
  DIFFEVO_EXPECTS(c.refine_cycles >= 0, invalid_argument, "refine_cycles = ", c.refine_cycles,
                  " must be >= 0 (0: 3 x refine_levels)");
  DIFFEVO_EXPECTS(std::isfinite(c.refine_distance) && c.refine_distance >= 0, invalid_argument, "refine_distance = ",
                  c.refine_distance, " must be finite and >= 0");
  DIFFEVO_EXPECTS(!std::isnan(c.refine_abandon) && c.refine_abandon >= 0, invalid_argument, "refine_abandon = ",
                  c.refine_abandon, " must be >= 0 (infinity: never)");
  DIFFEVO_EXPECTS(std::isfinite(c.refine_abandon_gain) && c.refine_abandon_gain >= 0, invalid_argument,
                  "refine_abandon_gain = ", c.refine_abandon_gain, " must be finite and >= 0 (0: not asked)");
  DIFFEVO_EXPECTS(!std::isnan(c.refine_precision) && c.refine_precision >= 0, invalid_argument, "refine_precision = ",
                  c.refine_precision, " must be >= 0");
  DIFFEVO_EXPECTS(std::isfinite(c.derate_radius) && c.derate_radius >= 0, invalid_argument, "derate_radius = ",
                  c.derate_radius, " must be finite and >= 0");
  DIFFEVO_EXPECTS(c.derate_radius == 0 || c.refine_levels > 0, invalid_argument, "derate_radius = ", c.derate_radius,
                  " needs refinement (refine_levels = 0): it derates around refined points");
  DIFFEVO_EXPECTS(!c.refine_taboo || c.refine_levels > 0, invalid_argument,
                  "refine_taboo = true needs refinement (refine_levels = 0): it keeps local cycles out of refined niches");
  DIFFEVO_EXPECTS(!c.refine_taboo || c.refine_distance > 0 || c.archive_radius > 0, invalid_argument,
                  "refine_taboo = true needs a niche radius (refine_distance = 0 and archive_radius = 0)");
  DIFFEVO_EXPECTS(c.refine_polish >= 0, invalid_argument, "refine_polish = ", c.refine_polish,
                  " must be >= 0 (0: never)");
  DIFFEVO_EXPECTS(c.refine_polish == 0 || c.refine_levels > 0, invalid_argument, "refine_polish = ", c.refine_polish,
                  " needs refinement (refine_levels = 0): its steps refine seeds");
  DIFFEVO_EXPECTS(std::isfinite(c.refine_seed_cut) && c.refine_seed_cut > 0, invalid_argument, "refine_seed_cut = ",
                  c.refine_seed_cut, " must be finite and > 0");
  DIFFEVO_EXPECTS(c.refine_probe >= 0 && c.refine_probe <= 1, invalid_argument, "refine_probe = ", c.refine_probe,
                  " must be in [0, 1] (0: off)");
  DIFFEVO_EXPECTS(c.refine_probe == 0 || c.refine_levels > 0, invalid_argument, "refine_probe = ", c.refine_probe,
                  " needs refinement (refine_levels = 0): it probes seeds");
  DIFFEVO_EXPECTS(c.refine_translate >= 0 && c.refine_translate <= 64, invalid_argument, "refine_translate = ",
                  c.refine_translate, " must be in [0, 64] (0: off)");
  DIFFEVO_EXPECTS(c.refine_translate == 0 || c.refine_levels > 0, invalid_argument, "refine_translate = ",
                  c.refine_translate, " needs refinement (refine_levels = 0): its candidates become seeds");
  DIFFEVO_EXPECTS(!c.refine_translate_optima || c.refine_translate > 0, invalid_argument,
                  "refine_translate_optima = true needs refine_translate > 0 (the neighbours it uses), got ",
                  c.refine_translate);
  DIFFEVO_EXPECTS(c.refine_nudge >= 0 && c.refine_nudge <= 1000, invalid_argument, "refine_nudge = ", c.refine_nudge,
                  " must be in [0, 1000] (0: off)");
  DIFFEVO_EXPECTS(c.refine_nudge == 0 || c.refine_levels > 0, invalid_argument, "refine_nudge = ", c.refine_nudge,
                  " needs refinement (refine_levels = 0): it steps from a seed's end");
  DIFFEVO_EXPECTS(c.refine_abandon_level >= 1, invalid_argument, "refine_abandon_level = ", c.refine_abandon_level,
                  " must be >= 1");
  DIFFEVO_EXPECTS(c.explore_samples >= 0 && c.explore_samples <= (1 << 24), invalid_argument, "explore_samples = ",
                  c.explore_samples, " must be in [0, 16777216] (0: none)");
  DIFFEVO_EXPECTS(c.explore_samples == 0 || c.refine_levels > 0, invalid_argument, "explore_samples = ", c.explore_samples,
                  " needs refinement (refine_levels = 0): the samples become seeds");
  DIFFEVO_EXPECTS(c.explore_samples == 0 || !c.lower.empty(), invalid_argument, "explore_samples = ", c.explore_samples,
                  " needs a box (lower and upper): the samples are drawn uniformly from it");
  DIFFEVO_EXPECTS(c.max_evaluations == 0 || c.max_evaluations >= c.explore_samples, invalid_argument,
                  "max_evaluations = ", c.max_evaluations, " is less than one exploration sample (explore_samples = ",
                  c.explore_samples, ")");
  DIFFEVO_EXPECTS(!std::isnan(c.refine_tolerance) && c.refine_tolerance >= 0, invalid_argument,
                  "refine_tolerance = ", c.refine_tolerance, " must be >= 0");
  DIFFEVO_EXPECTS(!std::isinf(c.target), invalid_argument, "target = ", c.target, " must be finite (NaN: none)");

  // The configs the run builds later, checked now: a local cycle (its population, steps and first
  // scale; deeper levels only shrink the scale, kept at least the smallest normal float), a local
  // restart (its scale, and a centre as far out as the box goes), and a grown population.
  const auto scaled = [&](double factor) {
    std::vector<float> s(static_cast<std::size_t>(d));
    for (int j = 0; j < d; ++j) s[static_cast<std::size_t>(j)] = static_cast<float>(unit[static_cast<std::size_t>(j)] * factor);
    return s;
  };
  if (c.refine_levels > 0) {
    config local = c.run;
    local.population = c.refine_population;
    local.steps = c.refine_steps;
    local.scale = scaled(c.refine_scale);
    validate_later(local, detail::msg("the local cycles (population = refine_population = ", c.refine_population,
                                      ", steps = refine_steps = ", c.refine_steps, ", scale = run.scale x refine_scale = ",
                                      c.refine_scale, ")"));
  }
  if (c.restart_scale > 0) {
    config local = c.run;
    local.scale = scaled(c.restart_scale);
    const std::vector<double> lo = detail::expand(c.lower, d, 0.0), hi = detail::expand(c.upper, d, 0.0);
    local.center.resize(static_cast<std::size_t>(d));
    for (int j = 0; j < d; ++j)  // the farther end
      local.center[static_cast<std::size_t>(j)] = static_cast<float>(std::fabs(lo[j]) > std::fabs(hi[j]) ? lo[j] : hi[j]);
    validate_later(local, detail::msg("the local restarts (a centre in the box, scale = run.scale x restart_scale = ",
                                      c.restart_scale, ")"));
  }
  if (c.population_growth > 1 && c.max_population > c.run.population) {
    config grown = c.run;
    grown.population = c.max_population;
    validate_later(grown, detail::msg("the restarts' grown population (up to max_population = ", c.max_population, ")"));
  }
}

}  // namespace diffevo
