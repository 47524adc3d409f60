# Run by ctest (tests/CMakeLists.txt, cpu.isa_objects_define_only_their_table_*): compiles one
# instruction set's vector kernels (host/cpu/vector_ops_<ISA>.cpp) without optimization, with that
# file's own flags, and checks that the object defines no global or weak symbol but its table
# function. Any other one (an inline function of a shared header compiled with -mavx512f, say) could be
# the copy the linker keeps for every caller, and code that must run on any x86-64 would then use
# AVX-512 instructions. It also checks that the table is a constant (no guard variable, no static
# initializer): building it at run time would run that set's instructions on any processor that asks
# for the table (it did, until 2026-12-05: SIGILL on a processor without AVX-512).
# Inputs: CXX, SOURCE_DIR, ISA, FLAGS (a ;-list), NM, OUT.
execute_process(
  COMMAND ${CXX} -O0 -std=c++17 -ffp-contract=off ${FLAGS} -I${SOURCE_DIR}/include -I${SOURCE_DIR}
          -c ${SOURCE_DIR}/host/cpu/vector_ops_${ISA}.cpp -o ${OUT}
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling vector_ops_${ISA}.cpp at -O0 failed:\n${err}")
endif()
execute_process(COMMAND ${NM} -C --defined-only ${OUT} OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${OUT}")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(shared "")
foreach(line IN LISTS lines)
  if(line MATCHES "guard variable for|_GLOBAL__sub_I")
    message(FATAL_ERROR "vector_ops_${ISA}.cpp builds something at run time (${line}): the kernel table must be "
                        "a constant (make_kernels is constexpr), so that no ${ISA} instruction runs to read it")
  endif()
  # "<address> <type> <name>": an upper-case type is a global or weak definition
  if(line MATCHES "^[0-9a-fA-F]+ ([A-Z]) (.*)$")
    if(NOT CMAKE_MATCH_2 STREQUAL "diffevo::detail::vector_kernels_${ISA}()")
      list(APPEND shared "${CMAKE_MATCH_1} ${CMAKE_MATCH_2}")
    endif()
  endif()
endforeach()
if(shared)
  string(REPLACE ";" "\n  " shared "${shared}")
  message(FATAL_ERROR "vector_ops_${ISA}.cpp at -O0 defines symbols the linker may share with other code "
                      "(make them DIFFEVO_HD_INLINE or keep them inside the unnamed namespace):\n  ${shared}")
endif()
message(STATUS "vector_ops_${ISA}.cpp at -O0 defines only vector_kernels_${ISA}(), and its table is a constant")
