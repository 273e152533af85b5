#pragma once
/// \file data.hpp
/// Datasets (TensorDataset, MNIST, FashionMNIST, CIFAR10), the DataLoader and
/// per-example transforms.

#include "xgrad/data/cifar10.hpp"
#include "xgrad/data/dataloader.hpp"
#include "xgrad/data/dataset.hpp"
#include "xgrad/data/mnist.hpp"
#include "xgrad/data/sampler.hpp"
#include "xgrad/data/transforms.hpp"
