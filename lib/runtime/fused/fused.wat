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

  ;; im2col of an NHWC convolution (dilation 1): cols [batch*OH*OW, KH*KW*C],
  ;; one row per output pixel, columns in the filter's [KH, KW, C] order,
  ;; zeros where a window hangs over the padding (PT, PL before the image).
  (func (export "im2col") (param $x i32) (param $cols i32) (param $batch i32) (param $H i32) (param $W i32) (param $C i32) (param $OH i32) (param $OW i32) (param $KH i32) (param $KW i32) (param $SH i32) (param $SW i32) (param $PT i32) (param $PL i32)
    (local $n i32) (local $oy i32) (local $ox i32) (local $ky i32)
    (local $iy i32) (local $ix0 i32) (local $kx0 i32) (local $kx1 i32)
    (local $xn i32) (local $r i32) (local $run i32) (local $row i32) (local $plane i32)
    (local $d i32) (local $t i32) (local $len i32) (local $i i32) (local $end i32)
    (local.set $run (i32.shl (i32.mul (local.get $KW) (local.get $C)) (i32.const 2)))
    (local.set $row (i32.mul (local.get $KH) (local.get $run)))
    (local.set $plane (i32.shl (i32.mul (i32.mul (local.get $H) (local.get $W)) (local.get $C)) (i32.const 2)))
    (local.set $r (local.get $cols))
    (local.set $n (i32.const 0))
    (block $ndone (loop $nloop
      (br_if $ndone (i32.ge_u (local.get $n) (local.get $batch)))
      (local.set $xn (i32.add (local.get $x) (i32.mul (local.get $n) (local.get $plane))))
      (local.set $oy (i32.const 0))
      (block $ydone (loop $yloop
        (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
        (local.set $ox (i32.const 0))
        (block $xdone (loop $xloop
          (br_if $xdone (i32.ge_u (local.get $ox) (local.get $OW)))
          ;; taps kx in [kx0, kx1) read inside the image
          (local.set $ix0 (i32.sub (i32.mul (local.get $ox) (local.get $SW)) (local.get $PL)))
          (local.set $kx0 (i32.sub (i32.const 0) (local.get $ix0)))
          (if (i32.lt_s (local.get $kx0) (i32.const 0)) (then (local.set $kx0 (i32.const 0))))
          (if (i32.gt_s (local.get $kx0) (local.get $KW)) (then (local.set $kx0 (local.get $KW))))
          (local.set $kx1 (i32.sub (local.get $W) (local.get $ix0)))
          (if (i32.gt_s (local.get $kx1) (local.get $KW)) (then (local.set $kx1 (local.get $KW))))
          (if (i32.lt_s (local.get $kx1) (local.get $kx0)) (then (local.set $kx1 (local.get $kx0))))
          (local.set $ky (i32.const 0))
          (block $kdone (loop $kloop
            (br_if $kdone (i32.ge_u (local.get $ky) (local.get $KH)))
            (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $SH)) (local.get $PT)) (local.get $ky)))
            (local.set $d (i32.add (local.get $r) (i32.mul (local.get $ky) (local.get $run))))
            (if (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $H)))
              (then
                (memory.fill (local.get $d) (i32.const 0) (i32.shl (i32.mul (local.get $kx0) (local.get $C)) (i32.const 2)))
                (memory.copy (i32.add (local.get $d) (i32.shl (i32.mul (local.get $kx0) (local.get $C)) (i32.const 2))) (i32.add (local.get $xn) (i32.shl (i32.mul (i32.add (i32.mul (local.get $iy) (local.get $W)) (i32.add (local.get $ix0) (local.get $kx0))) (local.get $C)) (i32.const 2))) (i32.shl (i32.mul (i32.sub (local.get $kx1) (local.get $kx0)) (local.get $C)) (i32.const 2)))
                (memory.fill (i32.add (local.get $d) (i32.shl (i32.mul (local.get $kx1) (local.get $C)) (i32.const 2))) (i32.const 0) (i32.shl (i32.mul (i32.sub (local.get $KW) (local.get $kx1)) (local.get $C)) (i32.const 2))))
              (else
                (memory.fill (local.get $d) (i32.const 0) (local.get $run))))
            (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
            (br $kloop)))
          (local.set $r (i32.add (local.get $r) (local.get $row)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $xloop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yloop)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $nloop)))
  )

  ;; col2im, the adjoint of im2col: x (zeroed first) = the sum of every
  ;; window row of cols added back where im2col took it from.
  (func (export "col2im") (param $cols i32) (param $x i32) (param $batch i32) (param $H i32) (param $W i32) (param $C i32) (param $OH i32) (param $OW i32) (param $KH i32) (param $KW i32) (param $SH i32) (param $SW i32) (param $PT i32) (param $PL i32)
    (local $n i32) (local $oy i32) (local $ox i32) (local $ky i32)
    (local $iy i32) (local $ix0 i32) (local $kx0 i32) (local $kx1 i32)
    (local $xn i32) (local $r i32) (local $run i32) (local $row i32) (local $plane i32)
    (local $d i32) (local $t i32) (local $len i32) (local $i i32) (local $end i32)
    (local.set $run (i32.shl (i32.mul (local.get $KW) (local.get $C)) (i32.const 2)))
    (local.set $row (i32.mul (local.get $KH) (local.get $run)))
    (local.set $plane (i32.shl (i32.mul (i32.mul (local.get $H) (local.get $W)) (local.get $C)) (i32.const 2)))
    (local.set $r (local.get $cols))
    (memory.fill (local.get $x) (i32.const 0) (i32.mul (local.get $batch) (local.get $plane)))
    (local.set $n (i32.const 0))
    (block $ndone (loop $nloop
      (br_if $ndone (i32.ge_u (local.get $n) (local.get $batch)))
      (local.set $xn (i32.add (local.get $x) (i32.mul (local.get $n) (local.get $plane))))
      (local.set $oy (i32.const 0))
      (block $ydone (loop $yloop
        (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
        (local.set $ox (i32.const 0))
        (block $xdone (loop $xloop
          (br_if $xdone (i32.ge_u (local.get $ox) (local.get $OW)))
          ;; taps kx in [kx0, kx1) read inside the image
          (local.set $ix0 (i32.sub (i32.mul (local.get $ox) (local.get $SW)) (local.get $PL)))
          (local.set $kx0 (i32.sub (i32.const 0) (local.get $ix0)))
          (if (i32.lt_s (local.get $kx0) (i32.const 0)) (then (local.set $kx0 (i32.const 0))))
          (if (i32.gt_s (local.get $kx0) (local.get $KW)) (then (local.set $kx0 (local.get $KW))))
          (local.set $kx1 (i32.sub (local.get $W) (local.get $ix0)))
          (if (i32.gt_s (local.get $kx1) (local.get $KW)) (then (local.set $kx1 (local.get $KW))))
          (if (i32.lt_s (local.get $kx1) (local.get $kx0)) (then (local.set $kx1 (local.get $kx0))))
          (local.set $ky (i32.const 0))
          (block $kdone (loop $kloop
            (br_if $kdone (i32.ge_u (local.get $ky) (local.get $KH)))
            (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $SH)) (local.get $PT)) (local.get $ky)))
            (local.set $d (i32.add (local.get $r) (i32.mul (local.get $ky) (local.get $run))))
            (if (i32.and (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $H))) (i32.gt_s (local.get $kx1) (local.get $kx0)))
              (then
                ;; x[t ..] += cols[d + kx0 * C ..], len bytes
                (local.set $t (i32.add (local.get $xn) (i32.shl (i32.mul (i32.add (i32.mul (local.get $iy) (local.get $W)) (i32.add (local.get $ix0) (local.get $kx0))) (local.get $C)) (i32.const 2))))
                (local.set $d (i32.add (local.get $d) (i32.shl (i32.mul (local.get $kx0) (local.get $C)) (i32.const 2))))
                (local.set $len (i32.shl (i32.mul (i32.sub (local.get $kx1) (local.get $kx0)) (local.get $C)) (i32.const 2)))
                (local.set $end (i32.and (local.get $len) (i32.const -16)))
                (local.set $i (i32.const 0))
                (block $vdone (loop $vloop
                  (br_if $vdone (i32.ge_u (local.get $i) (local.get $end)))
                  (v128.store (i32.add (local.get $t) (local.get $i))
                    (f32x4.add (v128.load (i32.add (local.get $t) (local.get $i)))
                               (v128.load (i32.add (local.get $d) (local.get $i)))))
                  (local.set $i (i32.add (local.get $i) (i32.const 16)))
                  (br $vloop)))
                (block $sdone (loop $sloop
                  (br_if $sdone (i32.ge_u (local.get $i) (local.get $len)))
                  (f32.store (i32.add (local.get $t) (local.get $i))
                    (f32.add (f32.load (i32.add (local.get $t) (local.get $i)))
                             (f32.load (i32.add (local.get $d) (local.get $i)))))
                  (local.set $i (i32.add (local.get $i) (i32.const 4)))
                  (br $sloop)))))
            (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
            (br $kloop)))
          (local.set $r (i32.add (local.get $r) (local.get $row)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $xloop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yloop)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $nloop)))
  )
)
