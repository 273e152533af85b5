# Every dependency comes from a Debian package (see scripts/bootstrap.sh).
# Found once, at top level: imported targets are directory-scoped.
find_package(xtl 0.7 REQUIRED)        # before xsimd: Debian's xsimd config links xtl but never finds it
find_package(xsimd 8.0 REQUIRED)
find_package(xtensor 0.24 REQUIRED)
find_package(fmt 9 REQUIRED)
find_package(spdlog 1.10 REQUIRED)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)                 # gzip-compressed IDX data files
find_package(nlohmann_json 3.11 REQUIRED)   # safetensors headers
find_package(PkgConfig REQUIRED)
pkg_check_modules(STB REQUIRED IMPORTED_TARGET stb)  # libstb-dev: the .so holds the implementations (PNG writing)
find_package(PNG REQUIRED)                  # libpng-dev: decoding untrusted PNG files
find_package(JPEG REQUIRED)                 # libjpeg-dev (libjpeg-turbo): decoding untrusted JPEG files
# libzip-dev: the zip container of PyTorch checkpoints. Through pkg-config: Debian's
# libzip-config.cmake also wants /usr/bin/zipcmp, which another package holds.
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip>=1.7)
# ONNX export: libonnx-dev (its checker and shape inference) over protobuf. Its config
# does not find protobuf itself, so Protobuf comes first.
find_package(Protobuf 3.21 REQUIRED)
find_package(ONNX REQUIRED)
# Open MPI (libopenmpi-dev, openmpi-bin): xgrad::distributed's collectives. Built when
# found; without it the process group is a world of one process.
# Only MPI's C API is used (MPI_CXX_SKIP_MPICXX: not the removed C++ bindings).
set(MPI_CXX_SKIP_MPICXX ON)
find_package(MPI COMPONENTS CXX)
option(XGRAD_WITH_MPI "Build xgrad::distributed over MPI (default: when MPI is found)" ${MPI_CXX_FOUND})
if(XGRAD_WITH_MPI AND NOT MPI_CXX_FOUND)
  message(FATAL_ERROR "XGRAD_WITH_MPI is ON but no MPI was found (Debian: libopenmpi-dev openmpi-bin)")
endif()
if(XGRAD_BUILD_EXAMPLES OR XGRAD_BUILD_BENCH)
  find_package(CLI11 2.1 REQUIRED)          # libcli11-dev: the example and bench programs' command lines
endif()
if(XGRAD_BUILD_TESTS)
  find_package(Catch2 2.13 REQUIRED)
endif()
