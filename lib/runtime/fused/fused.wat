;; Fused element-wise kernels for tfjs-wasm, computing in place on its heap
;; (this module imports tfjs-wasm's memory). Pointers are byte offsets of
;; float32 tensors; every operation is an IEEE float32 operation in the
;; same order as the tfjs ops it replaces, so results are bit-identical.
;; Rebuild fused.wasm with: deno task build-wasm
(module
  (import "env" "memory" (memory 0))

  ;; Adam (tfjs's arithmetic): for each i,
  ;;   m' = m*b1 + g*c1            (c1 = 1 - beta1)
  ;;   v' = v*b2 + (g*g)*c2        (c2 = 1 - beta2)
  ;;   w' = ((m'/oma1) / (sqrt(v'/oma2) + eps)) * nlr + w
  ;; with oma1/oma2 = 1 - beta^t and nlr = -learning rate. Writes w', m', v'
  ;; to ow, om, ov (which may equal w, m, v).
  (func (export "adam")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32)
    (param $ow i32) (param $om i32) (param $ov i32) (param $n i32)
    (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32)
    (param $oma1 f32) (param $oma2 f32) (param $eps f32) (param $nlr f32)
    (local $off i32) (local $end i32)
    (local $gi v128) (local $mi v128) (local $vi v128) (local $den v128)
    (local $sg f32) (local $sm f32) (local $sv f32)
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $gi (v128.load (i32.add (local.get $g) (local.get $off))))
        (local.set $mi
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $off)))
                       (f32x4.splat (local.get $b1)))
            (f32x4.mul (local.get $gi) (f32x4.splat (local.get $c1)))))
        (local.set $vi
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $off)))
                       (f32x4.splat (local.get $b2)))
            (f32x4.mul (f32x4.mul (local.get $gi) (local.get $gi))
                       (f32x4.splat (local.get $c2)))))
        (local.set $den
          (f32x4.add
            (f32x4.sqrt (f32x4.div (local.get $vi) (f32x4.splat (local.get $oma2))))
            (f32x4.splat (local.get $eps))))
        (v128.store (i32.add (local.get $ow) (local.get $off))
          (f32x4.add
            (f32x4.mul
              (f32x4.div
                (f32x4.div (local.get $mi) (f32x4.splat (local.get $oma1)))
                (local.get $den))
              (f32x4.splat (local.get $nlr)))
            (v128.load (i32.add (local.get $w) (local.get $off)))))
        (v128.store (i32.add (local.get $om) (local.get $off)) (local.get $mi))
        (v128.store (i32.add (local.get $ov) (local.get $off)) (local.get $vi))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $vloop)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $sg (f32.load (i32.add (local.get $g) (local.get $off))))
        (local.set $sm
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $m) (local.get $off))) (local.get $b1))
            (f32.mul (local.get $sg) (local.get $c1))))
        (local.set $sv
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $v) (local.get $off))) (local.get $b2))
            (f32.mul (f32.mul (local.get $sg) (local.get $sg)) (local.get $c2))))
        (f32.store (i32.add (local.get $ow) (local.get $off))
          (f32.add
            (f32.mul
              (f32.div
                (f32.div (local.get $sm) (local.get $oma1))
                (f32.add
                  (f32.sqrt (f32.div (local.get $sv) (local.get $oma2)))
                  (local.get $eps)))
              (local.get $nlr))
            (f32.load (i32.add (local.get $w) (local.get $off)))))
        (f32.store (i32.add (local.get $om) (local.get $off)) (local.get $sm))
        (f32.store (i32.add (local.get $ov) (local.get $off)) (local.get $sv))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br $sloop))))

  ;; out = x < 0 ? x * alpha : x (tfjs LeakyRelu)
  (func (export "leaky_relu") (param $x i32) (param $out i32) (param $n i32) (param $alpha f32)
    (local $off i32) (local $end i32) (local $a v128) (local $b v128) (local $sa f32) (local $sb f32)
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $off))))
        (v128.store (i32.add (local.get $out) (local.get $off)) (v128.bitselect (f32x4.mul (local.get $a) (f32x4.splat (local.get $alpha))) (local.get $a) (f32x4.lt (local.get $a) (v128.const f32x4 0 0 0 0))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $vloop)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $sa (f32.load (i32.add (local.get $x) (local.get $off))))
        (f32.store (i32.add (local.get $out) (local.get $off)) (select (f32.mul (local.get $sa) (local.get $alpha)) (local.get $sa) (f32.lt (local.get $sa) (f32.const 0))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br $sloop))))

  ;; out = x > 0 ? dy : dy * alpha (tfjs: where(greater(x, 0), dy, mul(dy, alpha)))
  (func (export "leaky_relu_grad") (param $dy i32) (param $x i32) (param $out i32) (param $n i32) (param $alpha f32)
    (local $off i32) (local $end i32) (local $a v128) (local $b v128) (local $sa f32) (local $sb f32)
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $a (v128.load (i32.add (local.get $dy) (local.get $off))))
        (v128.store (i32.add (local.get $out) (local.get $off)) (v128.bitselect (local.get $a) (f32x4.mul (local.get $a) (f32x4.splat (local.get $alpha))) (f32x4.gt (v128.load (i32.add (local.get $x) (local.get $off))) (v128.const f32x4 0 0 0 0))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $vloop)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $sa (f32.load (i32.add (local.get $dy) (local.get $off))))
        (f32.store (i32.add (local.get $out) (local.get $off)) (select (local.get $sa) (f32.mul (local.get $sa) (local.get $alpha)) (f32.gt (f32.load (i32.add (local.get $x) (local.get $off))) (f32.const 0))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br $sloop))))

  ;; out = x > 0 ? dy : 0 (tfjs: mul(dy, step(x)))
  (func (export "relu_grad") (param $dy i32) (param $x i32) (param $out i32) (param $n i32)
    (local $off i32) (local $end i32) (local $a v128) (local $b v128) (local $sa f32) (local $sb f32)
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $off) (local.get $end)))
        (v128.store (i32.add (local.get $out) (local.get $off)) (v128.and (v128.load (i32.add (local.get $dy) (local.get $off))) (f32x4.gt (v128.load (i32.add (local.get $x) (local.get $off))) (v128.const f32x4 0 0 0 0))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $vloop)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $off) (local.get $end)))
        (f32.store (i32.add (local.get $out) (local.get $off)) (select (f32.load (i32.add (local.get $dy) (local.get $off))) (f32.const 0) (f32.gt (f32.load (i32.add (local.get $x) (local.get $off))) (f32.const 0))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br $sloop))))

  ;; out[c] = sum over r < rows of x[r * cols + c] (float32, rows in order).
  (func (export "colsum") (param $x i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $row i32) (local $end i32) (local $bytes i32)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $end (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (memory.fill (local.get $out) (i32.const 0) (local.get $bytes))
    (local.set $row (local.get $x))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $c (i32.const 0))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $c) (local.get $end)))
            (v128.store (i32.add (local.get $out) (local.get $c))
              (f32x4.add (v128.load (i32.add (local.get $out) (local.get $c)))
                         (v128.load (i32.add (local.get $row) (local.get $c)))))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))
            (br $vloop)))
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_u (local.get $c) (local.get $bytes)))
            (f32.store (i32.add (local.get $out) (local.get $c))
              (f32.add (f32.load (i32.add (local.get $out) (local.get $c)))
                       (f32.load (i32.add (local.get $row) (local.get $c)))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $sloop)))
        (local.set $row (i32.add (local.get $row) (local.get $bytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rloop))))

  ;; For r < rows: copies run bytes from src + r * srcStride to
  ;; dst + r * dstStride (concatenation and splitting along any axis).
  (func (export "copy_rows") (param $src i32) (param $srcStride i32) (param $dst i32) (param $dstStride i32) (param $run i32) (param $rows i32)
    (local $r i32)
    (block $done
      (loop $loop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (memory.copy (local.get $dst) (local.get $src) (local.get $run))
        (local.set $src (i32.add (local.get $src) (local.get $srcStride)))
        (local.set $dst (i32.add (local.get $dst) (local.get $dstStride)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $loop))))
)
