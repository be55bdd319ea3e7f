;;; Prototype for stdlib/packet.lisp (bench/analysis/prototype_counts.sh):
;;; %l3-header without the VLAN test at depth 2 (a third tag is not IPv4
;;; anyway), and parse-ipv4 without its outer %opaque.
(defmacro %l3-header (data data-end ethertype)
  (let ((d (gensym "data")) (de (gensym "end")))
    (labels ((level (tag-ptr depth)
               (let ((type (gensym "type")))
                 `(let ((,type (load u16 ,tag-ptr 0)))
                    ,(if (< depth 2)
                        `(if (%vlan-type-p ,type)
                             (if (> (+ ,tag-ptr ,(+ 2 +vlan-hdr-len+)) ,de)
                                  0
                                  ,(level `(+ ,tag-ptr ,+vlan-hdr-len+) (+ depth 1)))
                             (if (= ,type (htons ,ethertype)) (+ ,tag-ptr 2) 0))
                        `(if (= ,type (htons ,ethertype)) (+ ,tag-ptr 2) 0))))))
      `(let* ((,d ,data) (,de ,data-end))
         (%opaque
          (if (> (+ ,d +eth-hdr-len+) ,de)
              0
              ,(level `(+ ,d 12) 0)))))))
(defmacro parse-ipv4 (data data-end)
  (let ((de (gensym "end")) (ip (gensym "ip")))
    `(let* ((,de ,data-end)
            (,ip (%l3-header ,data ,de +ethertype-ipv4+)))
       (if (and ,ip (<= (+ ,ip +ipv4-hdr-len+) ,de)) ,ip 0))))
