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
)
