"""A small ONNX graph builder: named parameters as graph inputs, constants as initializers.

Names are allocated from a counter, so building the same model twice gives byte-identical protos
(the test command regenerates the committed graphs and compares them byte for byte).
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

OPSET = 18
IR_VERSION = 10  # onnxruntime 1.31 reads IR versions up to 13; onnx 1.23 writes 14 by default.

DTYPES = {"float32": (np.float32, TensorProto.FLOAT), "float64": (np.float64, TensorProto.DOUBLE)}


def normal(std):
    return {"kind": "normal", "std": std}


ZEROS = {"kind": "zeros"}
ONES = {"kind": "ones"}
FILM_BIAS = {"kind": "film"}  # first half ones (gamma), second half zeros (beta)


class Graph:
    """Accumulates nodes, constants and inputs of one ONNX graph of a given float type."""

    def __init__(self, dtype="float32"):
        self.dtype = dtype
        self.np_type, self.onnx_type = DTYPES[dtype]
        self.nodes, self.inits, self.inputs, self.outputs = [], [], [], []
        self.params = []  # (name, shape, init), in registration order
        self._count = 0
        self._params_by_name = {}

    def fresh(self, hint):
        self._count += 1
        return f"{hint}_{self._count}"

    def op(self, op_type, inputs, hint=None, outputs=1, **attrs):
        names = [self.fresh(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names

    def const(self, value, np_type=None):
        arr = np.asarray(value, dtype=np_type or self.np_type)
        name = self.fresh("const")
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def ints(self, values):
        return self.const(np.asarray(values, dtype=np.int64), np.int64)

    def param(self, name, shape, init):
        if name in self._params_by_name:
            raise ValueError(f"parameter {name} registered twice")
        self._params_by_name[name] = True
        self.params.append((name, list(shape), init))
        self.inputs.append(helper.make_tensor_value_info(name, self.onnx_type, list(shape)))
        return name

    def input(self, name, shape, elem=None):
        self.inputs.append(helper.make_tensor_value_info(name, elem or self.onnx_type, list(shape)))
        return name

    def output(self, value, name, shape, elem=None):
        self.nodes.append(helper.make_node("Identity", [value], [name]))
        self.outputs.append(helper.make_tensor_value_info(name, elem or self.onnx_type, shape))
        return name

    def model(self, name):
        graph = helper.make_graph(self.nodes, name, self.inputs, self.outputs, self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                 ir_version=IR_VERSION, producer_name="autonet-jepa-graphs")

    # ---- elementwise helpers -------------------------------------------------------------
    def add(self, a, b):
        return self.op("Add", [a, b])

    def sub(self, a, b):
        return self.op("Sub", [a, b])

    def mul(self, a, b):
        return self.op("Mul", [a, b])

    def scale(self, a, s):
        return self.mul(a, self.const(s))

    def mean(self, x, axes=None, keepdims=0):
        if axes is None:
            return self.op("ReduceMean", [x], keepdims=keepdims)
        return self.op("ReduceMean", [x, self.ints(axes)], keepdims=keepdims)

    def sum(self, x, axes=None, keepdims=0):
        if axes is None:
            return self.op("ReduceSum", [x], keepdims=keepdims)
        return self.op("ReduceSum", [x, self.ints(axes)], keepdims=keepdims)

    def reshape(self, x, shape):
        return self.op("Reshape", [x, self.ints(shape)])

    def transpose(self, x, perm):
        return self.op("Transpose", [x], perm=list(perm))

    def unsqueeze(self, x, axes):
        return self.op("Unsqueeze", [x, self.ints(axes)])
