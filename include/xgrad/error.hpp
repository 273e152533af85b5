#pragma once
/// \file error.hpp
/// Exceptions thrown by xgrad. Every message names the op and the values at fault.

#include <stdexcept>
#include <string>

namespace xgrad {

/// Base of every exception xgrad throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Shapes that do not fit together (broadcasting, matmul, reshape, ...).
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// Element types that do not fit together, or an op given a dtype it does not support.
class DTypeError : public Error {
 public:
  using Error::Error;
};

/// A bad argument value: out-of-range dim or index, negative size, bad label.
class ValueError : public Error {
 public:
  using Error::Error;
};

/// Misuse of the autograd tape: backward through a freed graph, of a non-scalar
/// without a gradient, through a tensor modified in place after it was saved.
class AutogradError : public Error {
 public:
  using Error::Error;
};

/// Files that are missing, truncated or malformed.
class IOError : public Error {
 public:
  using Error::Error;
};

}  // namespace xgrad
