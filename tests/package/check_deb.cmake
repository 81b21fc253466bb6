# Builds the .deb with CPack into a scratch directory and inspects it (dpkg-deb -c, -I), then extracts
# it and runs the packaged binary and its completions.
set(out ${BINARY_DIR}/package-test)
file(REMOVE_RECURSE ${out})
file(MAKE_DIRECTORY ${out})
execute_process(COMMAND cpack -G DEB -B ${out} WORKING_DIRECTORY ${BINARY_DIR}
                RESULT_VARIABLE rc OUTPUT_VARIABLE log ERROR_VARIABLE log)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cpack failed:\n${log}")
endif()
file(GLOB debs ${out}/meshmove_*.deb)
list(LENGTH debs n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "expected one meshmove_*.deb in ${out}, found: ${debs}")
endif()
list(GET debs 0 deb)

execute_process(COMMAND dpkg-deb -c ${deb} OUTPUT_VARIABLE contents RESULT_VARIABLE rc)
foreach(expected
    "./usr/bin/meshmove"
    "./usr/share/man/man1/meshmove.1"
    "./usr/share/man/man5/meshmove-plan.5"
    "./usr/share/bash-completion/completions/meshmove"
    "./usr/share/zsh/vendor-completions/_meshmove"
    "./usr/share/meshmove/plans/vm-to-kube.yaml"
    "./usr/share/meshmove/plans/ci-gate.yaml")
  string(FIND "${contents}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${expected} is missing from the package:\n${contents}")
  endif()
endforeach()
foreach(unexpected "meshsim" "meshmove_unit_tests" "include/")
  string(FIND "${contents}" "${unexpected}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "${unexpected} does not belong in the package:\n${contents}")
  endif()
endforeach()

execute_process(COMMAND dpkg-deb -I ${deb} OUTPUT_VARIABLE info RESULT_VARIABLE rc)
foreach(dep "libcurl4" "libyaml-cpp0.7" "libprometheus-cpp-core1.0" "libdate-tz3" "tzdata")
  string(FIND "${info}" "${dep}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the package does not depend on ${dep}:\n${info}")
  endif()
endforeach()
string(FIND "${info}" "Package: meshmove" at)
if(at EQUAL -1)
  message(FATAL_ERROR "unexpected package metadata:\n${info}")
endif()

# Extract and run what was packaged.
execute_process(COMMAND dpkg-deb -x ${deb} ${out}/root RESULT_VARIABLE rc)
execute_process(COMMAND ${out}/root/usr/bin/meshmove --version OUTPUT_VARIABLE version RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT version MATCHES "^meshmove [0-9]")
  message(FATAL_ERROR "the packaged binary does not run: ${rc} ${version}")
endif()
execute_process(COMMAND ${out}/root/usr/bin/meshmove validate ${out}/root/usr/share/meshmove/plans/vm-to-kube.yaml
                RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the packaged binary cannot validate the packaged plan: ${o}${e}")
endif()
execute_process(COMMAND bash -n ${out}/root/usr/share/bash-completion/completions/meshmove RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the packaged bash completion is not valid bash")
endif()
message(STATUS "ok: ${deb}")
file(REMOVE_RECURSE ${out})
