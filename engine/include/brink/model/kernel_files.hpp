// The kernel libraries this brink may load, for the checks that keep an
// output from being written over one of them.
#pragma once

#include <string>
#include <vector>

namespace brink {

// Every kernel library of a built instruction set that exists where this
// brink looks for it (beside the executable, then in the install's lib
// directory); none in a binary that links its kernel statically.
std::vector<std::string> kernel_files();

}  // namespace brink
