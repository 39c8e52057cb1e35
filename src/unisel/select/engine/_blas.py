"""One BLAS call for the kernels: ``out = a @ b.T`` in float32, as a numba intrinsic.

``np.dot`` inside a numba kernel compiles numba's whole linear-algebra front end (shape and
layout checks with formatted error messages): about 0.7 s on a cold cache, a fifth of the lazy
loop's compile time (docs/performance.md, "Cold start"). The kernels only ever need one
product, C-contiguous float32 rows against C-contiguous float32 rows, so :func:`sgemm_nt` calls
the BLAS routine numba itself uses for ``np.dot`` (its C helper ``numba_xxgemm``, which loads
``sgemm`` from SciPy's BLAS) directly; the call is linked by name, so numba's on-disk cache
stays valid across processes. The product is BLAS's float32 ``sgemm`` either way: any
summation order is within the screening tolerance of :mod:`unisel.select.engine.fast`.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


def _is_rows32(t: Any) -> bool:
    return (
        isinstance(t, types.Array) and t.ndim == 2 and t.layout == "C" and t.dtype == types.float32
    )


@intrinsic
def sgemm_nt(typingctx: Any, a: Any, b: Any, out: Any) -> Any:
    """``out[:] = a @ b.T`` for C-contiguous float32 arrays ``a`` (m, d), ``b`` (n, d) and
    ``out`` (m, n); returns BLAS's status (0: done; non-zero: no BLAS, ``out`` not written).

    Callable from numba kernels only. Shapes are not checked: callers pass matching ones.
    """
    if not (_is_rows32(a) and _is_rows32(b) and _is_rows32(out)):
        return None
    sig = types.int32(a, b, out)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        A = context.make_array(signature.args[0])(context, builder, args[0])
        B = context.make_array(signature.args[1])(context, builder, args[1])
        C = context.make_array(signature.args[2])(context, builder, args[2])
        m, d = cgutils.unpack_tuple(builder, A.shape)
        n, _ = cgutils.unpack_tuple(builder, B.shape)
        intp = context.get_value_type(types.intp)
        char = ir.IntType(8)
        vp = cgutils.voidptr_t
        fnty = ir.FunctionType(
            ir.IntType(32),
            [char, char, char, intp, intp, intp, vp, vp, intp, vp, intp, vp, vp, intp],
        )
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        f32 = context.get_value_type(types.float32)
        alpha = cgutils.alloca_once_value(builder, ir.Constant(f32, 1.0))
        beta = cgutils.alloca_once_value(builder, ir.Constant(f32, 0.0))
        # BLAS wants leading dimensions of at least 1, also for empty arrays
        one = ir.Constant(intp, 1)
        ld_ab = builder.select(builder.icmp_signed("<", d, one), one, d)
        ld_c = builder.select(builder.icmp_signed("<", n, one), one, n)
        # column-major BLAS: out^T (n x m) = b (n x d, stored as d x n: transposed) times
        # a^T (d x m, stored as is)
        return builder.call(
            fn,
            (
                ir.Constant(char, ord("s")),
                ir.Constant(char, ord("t")),
                ir.Constant(char, ord("n")),
                n,
                m,
                d,
                builder.bitcast(alpha, vp),
                builder.bitcast(B.data, vp),
                ld_ab,
                builder.bitcast(A.data, vp),
                ld_ab,
                builder.bitcast(beta, vp),
                builder.bitcast(C.data, vp),
                ld_c,
            ),
        )

    return sig, codegen
