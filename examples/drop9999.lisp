;;; Drop TCP packets to port 9999, pass everything else.
;;; The example of the Whistler book's XDP chapter.

(defprog drop-9999 (:type :xdp :section "xdp/drop_9999")
  (with-tcp (data data-end tcp)
    (when (= (tcp-dst-port tcp) 9999)
      (return XDP_DROP)))
  XDP_PASS)
