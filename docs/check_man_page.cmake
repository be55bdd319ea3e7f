# cmake -DGROFF=groff -DPAGE=x.1 -DEXPECT=text -P check_man_page.cmake
# Renders a man page as `man` would and checks that it rendered and mentions EXPECT.
if(NOT EXISTS "${PAGE}")
  message(FATAL_ERROR "${PAGE} does not exist: build the man_pages target first")
endif()
# -P-c -P-b -P-u: plain text, no overstriking for bold and underline.
execute_process(COMMAND "${GROFF}" -man -Tutf8 -P-c -P-b -P-u "${PAGE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE text ERROR_VARIABLE errors)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "groff failed on ${PAGE} (exit ${rc}):\n${errors}")
endif()
string(FIND "${text}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${PAGE} renders without mentioning ${EXPECT}:\n${text}")
endif()
string(FIND "${text}" "NAME" name_at)
if(name_at EQUAL -1)
  message(FATAL_ERROR "${PAGE} has no NAME section:\n${text}")
endif()
message(STATUS "${PAGE} renders (${EXPECT} found)")
