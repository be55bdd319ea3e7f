;;;; The Whistler prelude: constants and control forms, written in Whistler.
;;;; Loaded before every program. Forms defined here expand at their call
;;;; sites; diagnostics inside them are reported at the call.

(in-package #:whistler)

;;; ---- XDP actions and map update flags ----

(defconstant XDP_ABORTED 0)
(defconstant XDP_DROP 1)
(defconstant XDP_PASS 2)
(defconstant XDP_TX 3)
(defconstant XDP_REDIRECT 4)

(defconstant BPF_ANY 0)
(defconstant BPF_NOEXIST 1)
(defconstant BPF_EXIST 2)
(defconstant BPF_F_NO_PREALLOC 1)

;;; ---- Conditionals ----

(defmacro when (test &body body)
  `(if ,test (progn ,@body)))

(defmacro unless (test &body body)
  `(if ,test 0 (progn ,@body)))

(defmacro cond (&rest clauses)
  ;; Built from the last clause up in one expansion: linear in the clauses.
  (let ((result 0))
    (dolist (clause (reverse clauses) result)
      (unless (consp clause)
        (error "cond clause ~a is not a list (TEST FORMS...)" clause))
      (setq result
            (cond ((eq (car clause) 't)
                   `(progn ,@(cdr clause)))
                  ((null (cdr clause))
                   ;; (cond (x) ...) yields x when it is true
                   (let ((v (gensym "cond")))
                     `(let ((,v ,(car clause)))
                        (if ,v ,v ,result))))
                  (t
                   `(if ,(car clause) (progn ,@(cdr clause)) ,result)))))))

(defmacro case (key &rest clauses)
  (let ((k (gensym "key")))
    `(let ((,k ,key))
       (cond
         ,@(mapcar (lambda (clause)
                     ;; A clause without forms yields 0 (CL's nil), not its test's value.
                     (let ((keys (car clause))
                           (forms (or (cdr clause) '(0))))
                       (cond ((or (eq keys 't) (eq keys 'otherwise))
                              `(t ,@forms))
                             ((consp keys)
                              `((or ,@(mapcar (lambda (v) `(= ,k ,v)) keys))
                                ,@forms))
                             (t `((= ,k ,keys) ,@forms)))))
                   clauses)))))

;; (when-let ((var init) (var2 type init2) ...) body...): each binding must be
;; non-zero for the next to be evaluated and for the body to run.
(defmacro when-let (bindings &body body)
  (if (null bindings)
      `(progn ,@body)
      (let ((b (car bindings)))
        (unless (and (consp b) (symbolp (car b)))
          (error "when-let binding ~a should be (VAR INIT) or (VAR TYPE INIT)" b))
        `(let (,b)
           (when ,(car b)
             (when-let ,(cdr bindings) ,@body))))))

;; (if-let (var init) then [else]) or (if-let ((var init)...) then [else]).
(defmacro if-let (binding then &optional (else 0))
  (if (consp (car binding))
      (if (null (cdr binding))
          `(if-let ,(car binding) ,then ,else)
          `(if-let ,(car binding) (if-let ,(cdr binding) ,then ,else) ,else))
      `(let (,binding)
         (if ,(car binding) ,then ,else))))

;;; ---- Loops with constant bounds ----

(defmacro dotimes (spec &body body)
  (unless (and (consp spec) (symbolp (car spec)) (cdr spec))
    (error "dotimes needs (VAR COUNT [RESULT])"))
  (let ((var (first spec))
        (count (second spec))
        (result (third spec)))
    `(progn (%loop ,var 0 ,count ,@body)
            ,(if result result 0))))

;; (loop for VAR from A below B do BODY...), also `to`/`upto` (inclusive),
;; `below` alone (from 0), and (loop repeat N do BODY...).
(defmacro loop (&rest clauses)
  (labels ((parse-for (var rest start end)
             (cond ((null rest) (error "loop: missing DO clause"))
                   ((eq (car rest) 'from) (parse-for var (cddr rest) (cadr rest) end))
                   ((eq (car rest) 'below) (parse-for var (cddr rest) start (cadr rest)))
                   ((or (eq (car rest) 'to) (eq (car rest) 'upto))
                    (parse-for var (cddr rest) start `(+ ,(cadr rest) 1)))
                   ((eq (car rest) 'do)
                    (unless end (error "loop: needs an upper bound (below N or to N)"))
                    `(%loop ,var ,start ,end ,@(cdr rest)))
                   (t (error "loop: unsupported clause ~a; use (loop for VAR from A below B do BODY...)"
                             (car rest))))))
    (cond ((and (member (car clauses) '(for as)) (symbolp (cadr clauses)))
           (parse-for (cadr clauses) (cddr clauses) 0 nil))
          ((eq (car clauses) 'repeat)
           (unless (eq (caddr clauses) 'do) (error "loop: (loop repeat N do BODY...)"))
           `(%loop ,(gensym "i") 0 ,(cadr clauses) ,@(cdddr clauses)))
          (t (error "loop supports (loop for VAR from A below B do BODY...) and (loop repeat N do BODY...)")))))

;;; ---- Small conveniences ----

(defmacro 1+ (x) `(+ ,x 1))
(defmacro 1- (x) `(- ,x 1))
(defmacro zerop (x) `(= ,x 0))

;;; ---- Ring buffers ----

;; Reserve SIZE bytes in ring buffer MAP, bind VAR to the record, run BODY and
;; submit. BODY does not run when the ring buffer is full. A (return ...) out of
;; BODY discards the record first, so no reservation is ever left open.
(defmacro with-ringbuf ((var map size &key (flags 0)) &body body)
  `(let ((,var (ringbuf-reserve ,map ,size ,flags)))
     (when ,var
       (%on-return ((ringbuf-discard ,var 0))
         ,@body)
       (ringbuf-submit ,var 0))))
