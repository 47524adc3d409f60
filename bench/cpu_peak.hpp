#pragma once
// The cpu's float arithmetic floor, measured in the same run as what is compared with it.
namespace bench::cpu {

/// Float lane operations per second (a multiply or an add on one float lane each) on all hardware
/// threads: independent chains of vector multiplies and adds at the widest vector this processor
/// has (AVX-512, AVX2 or SSE2), nothing fused. The cart-pole floor of a net with P parameters is
/// this divided by 2 P (a multiply and an add per parameter and step, as the evaluator computes).
double float_lane_ops_per_second();

}  // namespace bench::cpu
